package cli

import "syscall"

// rusagePeak returns the process's peak resident memory from getrusage,
// which macOS reports in bytes.
func rusagePeak() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss
	}
	return 0
}
