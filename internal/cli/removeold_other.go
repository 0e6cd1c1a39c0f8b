//go:build !unix && !windows

package cli

import "syscall"

func detached() *syscall.SysProcAttr { return nil }

func lowerPriority() {}
