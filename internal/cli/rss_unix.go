//go:build unix && !darwin

package cli

import "syscall"

// rusagePeak returns the process's peak resident memory from getrusage,
// which Linux and the BSDs report in kilobytes.
func rusagePeak() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss * 1024
	}
	return 0
}
