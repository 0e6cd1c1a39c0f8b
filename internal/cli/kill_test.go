package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bakehq/bake/output"
)

// TestKilledBuildLeavesPreviousBuild kills a bake build process midway and
// checks that the previous build is whole, and that the next build finishes
// the job and clears what the killed one left.
func TestKilledBuildLeavesPreviousBuild(t *testing.T) {
	t.Parallel()
	// Long enough to kill midway (the kill comes once 50 pages are
	// written); -short builds a smaller site, as the race detector, which
	// makes bake several times slower, does.
	n := 20000
	if testing.Short() || raceEnabled() {
		n = 5000
	}
	last := strconv.Itoa(n)
	dir := t.TempDir()
	writeItemsSite(t, dir, n, "v1 item ")
	bake := func(args ...string) *exec.Cmd { return bakeCommand(dir, args...) }
	if out, err := bake("build", "-q").CombinedOutput(); err != nil {
		t.Fatalf("first build: %v\n%s", err, out)
	}
	manifest := func() []byte {
		t.Helper()
		idx, err := output.OpenIndex(context.Background(), filepath.Join(dir, "_site"))
		if err != nil {
			t.Fatal(err)
		}
		defer idx.Close()
		var buf bytes.Buffer
		if err := idx.WriteManifest(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	before := manifest()

	// Change every row, start a build and kill it once it is writing pages.
	execSQLite(t, filepath.Join(dir, "site.db"), `UPDATE items SET title = replace(title, 'v1', 'v2')`)

	cmd := bake("build", "-q")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	staging := ""
	deadline := time.Now().Add(20 * time.Second)
	for staging == "" && time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(dir, "._site.new-*", "items", "1*"))
		if len(matches) > 50 {
			staging = matches[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if staging == "" {
		t.Fatal("the build never got to writing pages")
	}
	if after := manifest(); !bytes.Equal(before, after) {
		t.Fatal("the killed build changed the live manifest")
	}
	page, _ := os.ReadFile(filepath.Join(dir, "_site", "items", last, "index.html"))
	if !strings.Contains(string(page), "v1 item "+last) {
		t.Fatalf("live page changed or missing after the kill: %q", page)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "._site.new-*")); len(left) == 0 {
		t.Fatal("the kill came after the build finished; nothing was tested")
	}

	// The next build completes, and the leftovers are removed (by a
	// process of their own, after the build returned).
	if out, err := bake("build", "-q").CombinedOutput(); err != nil {
		t.Fatalf("build after kill: %v\n%s", err, out)
	}
	page, _ = os.ReadFile(filepath.Join(dir, "_site", "items", last, "index.html"))
	if !strings.Contains(string(page), "v2 item "+last) {
		t.Fatalf("build after the kill did not finish the job: %q", page)
	}
	waitNoLeftovers(t, dir)
}
