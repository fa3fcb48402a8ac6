package protocol

import (
	"net"
	"syscall"
)

// canSendFile: sendfile(2) to a TCP socket.
func canSendFile(nc net.Conn) bool {
	_, ok := nc.(*net.TCPConn)
	return ok
}

// sendfile sends f to nc with sendfile(2) at f's offset, never moving the
// file position (shared with other readers of the file). It returns how
// many bytes went out; fewer than f.Len() with a nil error means sendfile
// could not be used for the rest (the caller copies it). A file shorter
// than the range is io.ErrUnexpectedEOF.
func sendfile(nc net.Conn, f RecordFile) (int64, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return 0, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	off, end := f.Offset(), f.Offset()+f.Len()
	src := f.Fd()
	var serr error
	unsupported := false
	err = rc.Write(func(fd uintptr) bool {
		for off < end {
			n, err := syscall.Sendfile(int(fd), src, &off, int(min(end-off, 1<<30)))
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return false // wait until the socket is writable
			case (err == syscall.EINVAL || err == syscall.ENOSYS) && off == f.Offset():
				unsupported = true
				return true
			case err != nil:
				serr = err
				return true
			case n == 0:
				serr = errShortFile
				return true
			}
		}
		return true
	})
	if err == nil {
		err = serr
	}
	if unsupported && err == nil {
		return 0, nil
	}
	return off - f.Offset(), err
}
