module github.com/mqttwire/mqttwire

go 1.24

require github.com/google/go-cmp v0.7.0

require github.com/leanovate/gopter v0.2.11 // indirect
