// Package interop proves the reference broker in examples/broker against
// MQTT clients written by others, in a module of its own so that their code
// never enters mqttwire's go.mod. It holds only tests: `go test ./...` here
// builds the broker from this repository, starts it on a free loopback port
// and drives it with the Eclipse Paho Go client.
package interop
