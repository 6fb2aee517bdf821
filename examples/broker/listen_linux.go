package main

import "syscall"

// deferAccept sets TCP_DEFER_ACCEPT on the listening socket: the kernel
// hands a connection over only once the client's first bytes (its CONNECT)
// have arrived, so the reader's first read finds them at once instead of
// failing, parking the goroutine and waking it again when they come; and a
// connection that sends nothing costs no goroutine. A client that stays
// silent is handed over after about a second anyway (the value is in
// seconds), and -connect-timeout runs from then. A failure to set the
// option is not an error: the broker works the same without it.
func deferAccept(network, address string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
	})
}
