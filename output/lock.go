package output

import "path/filepath"

// lockName is the lock file of the build folder final in folder parent:
// .BASE.lock beside it.
func lockName(parent, final string) string {
	return filepath.Join(parent, "."+filepath.Base(final)+".lock")
}
