//go:build !linux

package cli

// fsType is not known on this system: bench reports no filesystem.
func fsType(dir string) (name string, memory bool) { return "", false }
