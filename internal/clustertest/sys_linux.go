package clustertest

import "syscall"

// sysProcAttr asks the kernel to SIGKILL a node if the test process dies
// without running its cleanups (a -timeout panic, a SIGKILL of go test).
// Pdeathsig fires when the thread that forked the child exits; the Go
// runtime keeps its threads for the life of the process unless a goroutine
// exits while locked to one, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
