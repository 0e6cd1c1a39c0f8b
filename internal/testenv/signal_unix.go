//go:build unix

package testenv

import "syscall"

// quitSignal stops nginx gracefully.
var quitSignal = syscall.SIGQUIT

// stopSignal asks a server started by StartProcess to stop: nginx's master
// then stops its workers, which a SIGKILL of the master would leave behind.
var stopSignal = syscall.SIGTERM
