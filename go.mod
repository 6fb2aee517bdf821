module github.com/mqttwire/mqttwire

go 1.24
