//go:build unix

package testenv

import "syscall"

// quitSignal stops nginx gracefully.
var quitSignal = syscall.SIGQUIT
