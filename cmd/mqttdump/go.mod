module github.com/mqttwire/mqttwire/cmd/mqttdump

go 1.24.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/mqttwire/mqttwire v0.0.0
)

require (
	github.com/gopacket/gopacket v1.6.0
	golang.org/x/net v0.39.0 // indirect
	golang.org/x/sys v0.32.0 // indirect
)

replace github.com/mqttwire/mqttwire => ../..
