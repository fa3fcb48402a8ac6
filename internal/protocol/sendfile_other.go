//go:build !linux

package protocol

import "net"

func canSendFile(net.Conn) bool { return false }

// sendfile sends nothing: the writer copies.
func sendfile(net.Conn, RecordFile) (int64, error) { return 0, nil }
