package sqlsite_test

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/tools/txtar"
	_ "modernc.org/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

// extract writes the files of a txtar archive into a new temp folder.
func extract(t *testing.T, archive string) (string, *txtar.Archive) {
	t.Helper()
	a, err := txtar.ParseFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range a.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, a
}

// openDB returns a database of the dialect loaded with the site's seed.sql.
func openDB(t *testing.T, dialect, dir string) *sql.DB {
	t.Helper()
	seed, err := os.ReadFile(filepath.Join(dir, "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var db *sql.DB
	switch dialect {
	case sqlsite.SQLite:
		db, err = sql.Open("sqlite", filepath.Join(dir, "site.db"))
	case sqlsite.Postgres:
		db, err = sql.Open("pgx", testenv.PostgresSchema(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(string(seed)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return db
}

// tree reads every file of dir into a txtar archive, sorted by name.
func tree(t *testing.T, dir string) *txtar.Archive {
	t.Helper()
	a := &txtar.Archive{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.IsDir() && d.Name() == bake.ReservedDir {
			return filepath.SkipDir // the index is a database; its manifest is below
		}
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			a.Files = append(a.Files, txtar.File{Name: filepath.ToSlash(rel), Data: b})
		}
		return nil
	})
	if idx, err := output.OpenIndex(context.Background(), dir); err == nil {
		var b bytes.Buffer
		if err := idx.WriteManifest(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		idx.Close()
		a.Files = append(a.Files, txtar.File{Name: bake.ReservedDir + "/manifest.jsonl (bake manifest)", Data: b.Bytes()})
	}
	slices.SortFunc(a.Files, func(x, y txtar.File) int { return strings.Compare(x.Name, y.Name) })
	return a
}

// newSite opens the site of dir on db (SQLite), failing the test on a
// problem.
func newSite(tb testing.TB, dir string, db *sql.DB) *sqlsite.Site {
	tb.Helper()
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		tb.Fatal(err)
	}
	site, err := sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	return site
}

func buildSite(t *testing.T, dialect, dir string, db *sql.DB) (*build.Report, error) {
	t.Helper()
	ctx := context.Background()
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir, Dialect: dialect})
	if err != nil {
		t.Fatal(err)
	}
	return build.Build(ctx, site, build.Options{Output: filepath.Join(dir, "_site")})
}

func TestGoldenSites(t *testing.T) {
	t.Parallel()
	archives, _ := filepath.Glob("testdata/sites/*.txtar")
	for _, archive := range archives {
		if strings.HasSuffix(archive, ".golden.txtar") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(archive), ".txtar")
		golden := strings.TrimSuffix(archive, ".txtar") + ".golden.txtar"
		for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
			t.Run(name+"/"+dialect, func(t *testing.T) {
				dir, _ := extract(t, archive)
				db := openDB(t, dialect, dir)
				rep, err := buildSite(t, dialect, dir, db)
				if err != nil {
					for _, p := range rep.Problems {
						t.Error(p)
					}
					t.Fatal(err)
				}
				got := tree(t, filepath.Join(dir, "_site"))
				if *update && dialect == sqlsite.SQLite {
					got.Comment = []byte("Expected build of " + name + ".txtar (go test ./sqlsite -update rewrites it).\n")
					if err := os.WriteFile(golden, txtar.Format(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := txtar.ParseFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./sqlsite -update to create it)", err)
				}
				wantFiles := map[string]string{}
				for _, f := range want.Files {
					wantFiles[f.Name] = string(f.Data)
				}
				gotFiles := map[string]string{}
				for _, f := range got.Files {
					gotFiles[f.Name] = string(f.Data)
				}
				if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
					t.Errorf("build differs from %s (-want +got):\n%s", golden, diff)
				}
			})
		}
	}
}

// TestBuildIsDeterministic builds the same site twice and compares bytes.
func TestBuildIsDeterministic(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	first := txtar.Format(tree(t, filepath.Join(dir, "_site")))
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	second := txtar.Format(tree(t, filepath.Join(dir, "_site")))
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same data differ")
	}
}
