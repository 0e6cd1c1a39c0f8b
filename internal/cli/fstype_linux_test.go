package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFSType(t *testing.T) {
	if _, err := os.Stat("/dev/shm"); err == nil {
		if name, memory := fsType("/dev/shm"); name != "tmpfs" || !memory {
			t.Errorf("fsType(/dev/shm) = %q, %v; want tmpfs, true", name, memory)
		}
	}
	if name, _ := fsType(t.TempDir()); name == "" {
		t.Errorf("fsType(a temporary folder) = \"\", want a name")
	}
	if name, memory := fsType(filepath.Join(t.TempDir(), "missing")); name != "" || memory {
		t.Errorf("fsType(a missing folder) = %q, %v; want \"\", false", name, memory)
	}
}
