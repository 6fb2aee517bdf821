module github.com/mqttwire/mqttwire/benchmarks

go 1.24.0

require (
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/google/go-cmp v0.7.0
	github.com/mochi-mqtt/server/v2 v2.7.9
	github.com/mqttwire/mqttwire v0.0.0
)

replace github.com/mqttwire/mqttwire => ../
