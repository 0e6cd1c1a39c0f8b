//go:build unix

package cli

import "syscall"

// detached makes the removal a session of its own, so that Ctrl-C in the
// terminal or the end of the caller's process group does not stop it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// lowerPriority makes the removal yield the CPU to the next build.
func lowerPriority() { syscall.Setpriority(syscall.PRIO_PROCESS, 0, 10) }
