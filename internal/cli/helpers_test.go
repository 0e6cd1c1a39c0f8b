package cli

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/capture"
)

// Helpers of the tests that run bake as a separate process (this test
// binary, see TestMain) on a site folder.

// bakeCommand returns a command running bake (this test binary, see
// TestMain) on the site folder dir.
func bakeCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "BAKE_TEST_MAIN=1")
	dieWithTest(cmd)
	return cmd
}

// runBake runs bake on the site folder dir, fails the test unless it exits
// 0, and returns its standard output.
func runBake(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := bakeCommand(dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bake %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// writeSiteFiles writes files (name → content) into dir.
func writeSiteFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeItemsSite writes a site of one detail route over n rows made by
// SQLite itself, titled prefix followed by the row's id, each page padded
// to about 200 bytes: the site the kill tests build and interrupt.
func writeItemsSite(t *testing.T, dir string, n int, prefix string) {
	t.Helper()
	writeSiteFiles(t, dir, map[string]string{
		"bake.toml": `[database]
url = "site.db"
seed = "seed.sql"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT * FROM items"
template = "item.html"
`,
		"seed.sql": `CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(n) + `)
INSERT INTO items SELECT i, '` + prefix + `' || i FROM n;`,
		"templates/item.html": `<h1>{{.Row.title}}</h1>{{printf "%0200d" .Row.id}}`,
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeSiteFiles(t, filepath.Dir(to), map[string]string{filepath.Base(to): string(b)})
}

// openSQLite opens the SQLite file path for the test to write to.
func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// execSQLite runs statements on the SQLite file path.
func execSQLite(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db := openSQLite(t, path)
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// pendingChangeIDs returns the IDs of the changes captured in the SQLite
// file path and not yet consumed by a build.
func pendingChangeIDs(t *testing.T, path string) []int64 {
	t.Helper()
	db := openSQLite(t, path)
	defer db.Close()
	cs, err := capture.Pending(t.Context(), db, capture.SQLite, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// waitNoLeftovers waits (up to a minute) until the folders that builds of
// dir/_site left beside it, which a background process removes after a
// full build, are gone, and fails the test if they stay.
func waitNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := waitRemoved(ctx, filepath.Join(dir, "_site"))
	if left, _ := filepath.Glob(filepath.Join(dir, "._site.*")); err != nil || len(left) > 0 {
		t.Fatalf("leftovers of earlier builds not removed: %v (%v)", left, err)
	}
}
