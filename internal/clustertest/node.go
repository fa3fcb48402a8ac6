package clustertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is one samsa server process and everything that outlives it: its
// number, loopback IP, ports, data dir, log file and proxies.
//
// node.mu guards cmd, exited, waitErr, paused, expectExit and runs. The
// waiter goroutine started by start owns cmd.Wait; everyone else learns of
// the exit through exited.
type node struct {
	id        int
	ip        string // 127.0.0.<10+id>
	dir       string // log.dirs
	logPath   string
	plainPort int      // the real PLAINTEXT port on ip (brokers)
	ctrlPort  int      // the real CONTROLLER port on ip (controllers)
	plain     *proxy   // nil on a controller-only node
	ctrl      *proxy   // nil on a broker-only node
	args      []string // argv after the binary
	// broker and controller are the node's process.roles.
	broker, controller bool

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the current process has exited and been reaped
	waitErr    error         // cmd.Wait's result, valid once exited is closed
	paused     bool
	expectExit bool // set by kill and stop before signalling
	runs       int  // processes started so far
	crashes    []crash
}

// crash is an exit nobody asked for.
type crash struct {
	run  int
	text string
}

// plainAddr is the node's real PLAINTEXT address (not the proxy).
func (n *node) plainAddr() string { return net.JoinHostPort(n.ip, fmt.Sprint(n.plainPort)) }

// ctrlAddr is the node's real CONTROLLER address (not the proxy).
func (n *node) ctrlAddr() string { return net.JoinHostPort(n.ip, fmt.Sprint(n.ctrlPort)) }

// upAddr is the address waitListening dials: the PLAINTEXT listener, or
// the CONTROLLER listener of a controller-only node.
func (n *node) upAddr() string {
	if n.controller && !n.broker {
		return n.ctrlAddr()
	}
	return n.plainAddr()
}

// start launches the process without waiting for it to listen. The caller
// must not already have a running process for n.
func (n *node) start(bin string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exited != nil {
		select {
		case <-n.exited:
		default:
			return fmt.Errorf("node %d is already running", n.id)
		}
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	n.runs++
	fmt.Fprintf(logf, "%s clustertest: starting node %d (run %d)\n", startMarker, n.id, n.runs)
	cmd := exec.Command(bin, n.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start node %d: %w", n.id, err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited, n.waitErr, n.paused, n.expectExit = cmd, exited, nil, false, false
	run := n.runs
	go func() {
		err := cmd.Wait()
		logf.Close()
		n.mu.Lock()
		n.waitErr = err
		if !n.expectExit {
			n.crashes = append(n.crashes, crash{run, fmt.Sprintf("node %d (run %d, pid %d) exited on its own: %v", n.id, run, cmd.Process.Pid, exitText(err))})
		}
		n.mu.Unlock()
		close(exited)
	}()
	return nil
}

// startMarker begins the line the harness writes to a node's log before
// each start, so a log that spans restarts shows where each run begins.
const startMarker = "====="

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// running reports whether a process for n is alive (possibly paused).
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runningLocked()
}

func (n *node) runningLocked() bool {
	if n.exited == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// waitListening polls the node's real PLAINTEXT address (CONTROLLER on a
// controller-only node) until it accepts a TCP connection, the process
// exits, or timeout passes. It dials the node
// directly, not through the proxy: the proxy always accepts (it is the
// harness listening), so only the node's own socket tells whether the node
// is up, and a cut node must still be able to come up.
func (n *node) waitListening(timeout time.Duration) error {
	n.mu.Lock()
	exited, run := n.exited, n.runs
	n.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", n.upAddr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			n.mu.Lock()
			werr := n.waitErr
			// The caller reports this exit; do not report it again as a crash.
			n.crashes = slices.DeleteFunc(n.crashes, func(c crash) bool { return c.run == run })
			n.mu.Unlock()
			return fmt.Errorf("node %d exited before listening on %s: %s", n.id, n.upAddr(), exitText(werr))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d did not listen on %s within %v", n.id, n.upAddr(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig to the running process; it reports false if there is
// none.
func (n *node) signalLocked(sig syscall.Signal) bool {
	if !n.runningLocked() {
		return false
	}
	// An error here means the process is already gone (reaping races);
	// the waiter will observe that.
	_ = n.cmd.Process.Signal(sig)
	return true
}

// kill sends SIGCONT then SIGKILL and waits until the process is reaped.
// SIGKILL ends a stopped process too, but continuing it first keeps the
// order the kernel sees simple and matches what the cleanup promises.
// A node that is not running is left alone.
func (n *node) kill() {
	n.mu.Lock()
	exited := n.exited
	if !n.runningLocked() {
		n.mu.Unlock()
		return
	}
	n.expectExit = true
	n.signalLocked(syscall.SIGCONT)
	n.signalLocked(syscall.SIGKILL)
	n.paused = false
	n.mu.Unlock()
	<-exited
}

// stop sends SIGTERM (and SIGCONT, in case the node is paused) and waits
// up to timeout for the process to exit; then it kills it. It returns the
// process's exit error: nil for a clean exit with status 0.
func (n *node) stop(timeout time.Duration) error {
	n.mu.Lock()
	exited := n.exited
	if !n.runningLocked() {
		n.mu.Unlock()
		return nil
	}
	n.expectExit = true
	n.signalLocked(syscall.SIGTERM)
	n.signalLocked(syscall.SIGCONT)
	n.paused = false
	n.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(timeout):
		n.kill()
		return fmt.Errorf("node %d did not exit within %v of SIGTERM; killed it", n.id, timeout)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.waitErr
}

// pause sends SIGSTOP.
func (n *node) pause() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.signalLocked(syscall.SIGSTOP) {
		return fmt.Errorf("pause node %d: not running", n.id)
	}
	n.paused = true
	waitStopped(n.cmd.Process.Pid)
	return nil
}

// resume sends SIGCONT; a node that is not paused is left alone.
func (n *node) resume() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.paused {
		n.signalLocked(syscall.SIGCONT)
		n.paused = false
	}
}

func (n *node) isPaused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused && n.runningLocked()
}

func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.runningLocked() {
		return 0
	}
	return n.cmd.Process.Pid
}

// takeCrashes returns and forgets the unexpected exits seen so far.
func (n *node) takeCrashes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, c := range n.crashes {
		out = append(out, c.text)
	}
	n.crashes = nil
	return out
}

// log returns the node's whole log file.
func (n *node) log() string {
	b, _ := os.ReadFile(n.logPath)
	return string(b)
}

// logTail returns the last lines lines of the node's log.
func (n *node) logTail(lines int) string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", n.logPath, err)
	}
	b = bytes.TrimRight(b, "\n")
	i := len(b)
	for k := 0; k < lines && i > 0; k++ {
		i = bytes.LastIndexByte(b[:i], '\n')
		if i < 0 {
			i = 0
			break
		}
	}
	return strings.TrimLeft(string(b[i:]), "\n")
}
