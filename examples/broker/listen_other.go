//go:build !linux

package main

import "syscall"

// deferAccept does nothing here: TCP_DEFER_ACCEPT is Linux's (see
// listen_linux.go).
func deferAccept(network, address string, c syscall.RawConn) error { return nil }
