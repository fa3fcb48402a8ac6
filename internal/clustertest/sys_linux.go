package clustertest

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// sysProcAttr asks the kernel to SIGKILL a node if the test process dies
// without running its cleanups (a -timeout panic, a SIGKILL of go test).
// Pdeathsig fires when the thread that forked the child exits; the Go
// runtime keeps its threads for the life of the process unless a goroutine
// exits while locked to one, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitStopped waits (bounded) until the kernel reports pid stopped: a
// SIGSTOP is delivered asynchronously, and a test that pauses a node
// expects it to answer nothing from then on.
func waitStopped(pid int) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		// pid (comm) state ...: comm may hold spaces, the state follows
		// the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
