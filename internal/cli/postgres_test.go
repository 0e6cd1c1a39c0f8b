package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"github.com/bakehq/bake"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
	"golang.org/x/tools/txtar"
)

// TestBuildOnPostgres runs bake build end to end on a real PostgreSQL,
// with the database URL from BAKE_DATABASE_URL, and checks it builds the
// same pages as on SQLite.
func TestBuildOnPostgres(t *testing.T) {
	url := testenv.PostgresSchema(t)
	a, err := txtar.ParseFile("../../sqlsite/testdata/sites/blog.txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range a.Files {
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, f.Data, 0o644)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := os.ReadFile(filepath.Join(dir, "seed.sql"))
	if _, err := db.Exec(string(seed)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	t.Setenv("BAKE_DATABASE_URL", url)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"build", "-C", dir}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	golden, err := txtar.ParseFile("../../sqlsite/testdata/sites/blog.golden.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("built %d pages", len(golden.Files)-1); !strings.Contains(out.String(), want) { // all but the manifest
		t.Errorf("report does not say %q: %s", want, out.String())
	}
	for _, f := range golden.Files {
		if strings.HasPrefix(f.Name, bake.ReservedDir+"/") {
			continue // the index; its manifest is compared by the sqlsite golden test
		}
		got, err := os.ReadFile(filepath.Join(dir, "_site", f.Name))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from the golden build (%v)", f.Name, err)
		}
	}

	// A wrong URL is a clear error naming the database, without the password.
	t.Setenv("BAKE_DATABASE_URL", "postgres://bake:secret@127.0.0.1:1/nodb?connect_timeout=2")
	errb.Reset()
	if code := Run(context.Background(), []string{"build", "-C", dir}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 1 {
		t.Fatalf("exit %d with an unreachable database", code)
	}
	if msg := errb.String(); !strings.Contains(msg, "open database postgres://bake:xxxxx@127.0.0.1:1/nodb") || strings.Contains(msg, "secret") {
		t.Errorf("error: %s", msg)
	}
}
