//go:build !linux

package clustertest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; cleanups must run.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// waitStopped cannot check the process state here.
func waitStopped(int) {}
