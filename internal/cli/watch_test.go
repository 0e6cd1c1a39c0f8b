package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWatchRebuildsOnChange runs bake watch and changes a row, a template,
// and inserts and deletes rows, expecting the build folder to follow each
// change; then Ctrl-C stops it with exit status 0.
func TestWatchRebuildsOnChange(t *testing.T) {
	dir := t.TempDir()
	writeSiteFiles(t, dir, map[string]string{
		"bake.toml": `[database]
url = "site.db"
seed = "seed.sql"
[[route]]
name = "items"
kind = "list"
path = "/items/"
query = "SELECT id, title FROM items"
order_by = "id"
template = "list.html"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT * FROM items"
template = "item.html"
`,
		"seed.sql": `CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT);
INSERT INTO items VALUES (1, 'First'), (2, 'Second'), (3, 'Third');`,
		"templates/item.html": `<h1>{{.Row.title}}</h1>`,
		"templates/list.html": `{{range .Rows}}<li>{{.title}}</li>{{end}}`,
	})
	dbPath := filepath.Join(dir, "site.db")
	site := filepath.Join(dir, "_site")
	runBake(t, dir, "build", "-q")
	runBake(t, dir, "watch", "--install")

	var out syncBuffer
	cmd := bakeCommand(dir, "watch", "--debounce", "50ms", "--poll", "100ms")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	})

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(name)))
		if err != nil {
			return "(" + err.Error() + ")"
		}
		return string(b)
	}
	// waitFor polls until every page has its wanted content ("" for a
	// page that must not exist), or fails after a generous timeout.
	waitFor := func(what string, want map[string]string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var wrong []string
			for name, body := range want {
				if body == "" {
					if _, err := os.Stat(filepath.Join(site, filepath.FromSlash(name))); !errors.Is(err, os.ErrNotExist) {
						wrong = append(wrong, name+" exists, want none")
					}
				} else if got := read(name); got != body {
					wrong = append(wrong, name+" is "+got+", want "+body)
				}
			}
			if len(wrong) == 0 {
				return
			}
			select {
			case err := <-exited:
				stopped = true
				t.Fatalf("bake watch exited (%v) before %s\n%s", err, what, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s:\n%s\nbake watch said:\n%s", what, strings.Join(wrong, "\n"), out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The first build of watch has nothing to do; wait for it, so that
	// every change below is noticed by the waiting loop.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "updated "); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bake watch did not build:\n%s", out.String())
		}
	}

	execSQLite(t, dbPath, `UPDATE items SET title = 'Second, edited' WHERE id = 2`)
	waitFor("an update", map[string]string{
		"items/2/index.html": "<h1>Second, edited</h1>",
		"items/index.html":   "<li>First</li><li>Second, edited</li><li>Third</li>",
	})

	// Edited atomically, so that watch cannot read a half-written file.
	writeSiteFiles(t, dir, map[string]string{"item.html.new": `<h2 class="edited">{{.Row.title}}</h2>`})
	if err := os.Rename(filepath.Join(dir, "item.html.new"), filepath.Join(dir, "templates", "item.html")); err != nil {
		t.Fatal(err)
	}
	waitFor("a template edit", map[string]string{
		"items/1/index.html": `<h2 class="edited">First</h2>`,
		"items/2/index.html": `<h2 class="edited">Second, edited</h2>`,
		"items/3/index.html": `<h2 class="edited">Third</h2>`,
	})

	execSQLite(t, dbPath, `INSERT INTO items VALUES (4, 'Fourth')`)
	waitFor("an insert", map[string]string{
		"items/4/index.html": `<h2 class="edited">Fourth</h2>`,
		"items/index.html":   "<li>First</li><li>Second, edited</li><li>Third</li><li>Fourth</li>",
	})

	execSQLite(t, dbPath, `DELETE FROM items WHERE id = 1`)
	waitFor("a delete", map[string]string{
		"items/1/index.html": "",
		"items/1":            "",
		"items/index.html":   "<li>Second, edited</li><li>Third</li><li>Fourth</li>",
	})
	// The build consumes the changes just after it wrote the pages.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		left := pendingChangeIDs(t, dbPath)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d changes still pending after the rebuilds\n%s", len(left), out.String())
		}
	}

	// Ctrl-C: a clean exit.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("bake watch after SIGINT: %v, want exit status 0\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("bake watch did not stop within 15s of SIGINT\n%s", out.String())
	}
}
