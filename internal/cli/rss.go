package cli

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// peakRSS returns the peak resident memory of this process, in bytes. On
// Linux it reads VmHWM, which belongs to the process's own memory: the
// rusage maximum would also count what the parent had when it started us.
func peakRSS() int64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss * 1024
	}
	return 0
}
