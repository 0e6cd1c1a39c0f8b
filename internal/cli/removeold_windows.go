package cli

import "syscall"

// detached makes the removal a process group of its own, without a console,
// so that Ctrl-C in the caller's console does not stop it.
func detached() *syscall.SysProcAttr {
	const detachedProcess = 0x00000008
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
}

func lowerPriority() {}
