//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMStopsStuckRender starts a build whose one page converts
// Markdown that takes goldmark minutes (its limits raised so that nothing
// refuses it), sends SIGTERM, and checks that bake exits within seconds,
// non-zero, leaving the previous build as it was: the build cannot
// interrupt the conversion, and must not wait for it.
func TestSIGTERMStopsStuckRender(t *testing.T) {
	dir := t.TempDir()
	writeSiteFiles(t, dir, map[string]string{
		"bake.toml": `[database]
url = "site.db"
seed = "seed.sql"
[markdown]
max_size = 100000000
max_depth = 100000000
timeout = "1h"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT * FROM items"
template = "item.html"
`,
		"seed.sql": `CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO items VALUES (1, 'first *body*'), (2, 'second *body*'), (3, 'third *body*');`,
		"templates/item.html": `<h1>{{.Row.id}}</h1>{{markdown .Row.body}}`,
	})
	runBake(t, dir, "build", "-q")
	page := filepath.Join(dir, "_site", "items", "2", "index.html")
	before, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(before), "second <em>body</em>") {
		t.Fatalf("first build: %q, %v", before, err)
	}

	// 500,000 > take goldmark minutes (100,000 took 5 s to 35 s).
	execSQLite(t, filepath.Join(dir, "site.db"), `UPDATE items SET body = printf('%.500000c', '>') WHERE id = 2`)
	cmd := bakeCommand(dir, "build", "--full", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait for the new build's folder, and a moment for page 2 to get
	// stuck (the others take microseconds).
	for deadline := time.Now().Add(30 * time.Second); ; {
		if m, _ := filepath.Glob(filepath.Join(dir, "._site.new-*")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the build never began: %s", stderr.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	select {
	case err := <-exited:
		t.Fatalf("the build ended before SIGTERM (%v): %s", err, stderr.Bytes())
	default:
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("bake still running 10 s after SIGTERM: %s", stderr.Bytes())
	}
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit: %v, want a non-zero code; stderr: %s", err, stderr.Bytes())
	}
	if took > 5*time.Second {
		t.Errorf("bake took %v to exit after SIGTERM, want a few seconds at most", took)
	}
	t.Logf("exited %v after SIGTERM: %s", took, strings.TrimSpace(stderr.String()))
	if after, _ := os.ReadFile(page); !bytes.Equal(after, before) {
		t.Errorf("the previous build changed: %q, was %q", after, before)
	}

	// The next build, with the row fixed, clears what this one left.
	execSQLite(t, filepath.Join(dir, "site.db"), `UPDATE items SET body = 'fixed' WHERE id = 2`)
	runBake(t, dir, "build", "-q")
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "fixed") {
		t.Errorf("build after SIGTERM: %q", b)
	}
	waitNoLeftovers(t, dir)
}
