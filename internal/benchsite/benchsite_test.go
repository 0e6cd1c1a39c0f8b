package benchsite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

var benchItems = flag.Int("benchsite.items", 0, "BenchmarkPopulate: also populate this many rows")

// openDB opens a new SQLite file in a temporary folder.
func openDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// populated returns a new SQLite database with n rows of the given seed.
func populated(t testing.TB, n int, seed int64) *sql.DB {
	t.Helper()
	db := openDB(t)
	if err := Populate(context.Background(), db, DialectSQLite, Options{Items: n, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return db
}

// row is one row of items as the SQLite driver returns it.
type row struct {
	ID        int64
	Slug      string
	Title     string
	Body      string
	Category  string
	Published bool
	UpdatedAt time.Time
}

func readRows(t testing.TB, db *sql.DB) []row {
	t.Helper()
	rs, err := db.Query("SELECT id, slug, title, body, category, published, updated_at FROM items ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.ID, &r.Slug, &r.Title, &r.Body, &r.Category, &r.Published, &r.UpdatedAt); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// dump hashes every column of every row, as read through database/sql.
func dump(t testing.TB, db *sql.DB) string {
	t.Helper()
	h := sha256.New()
	for _, r := range readRows(t, db) {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\x00%s\x00%t\x00%s\n", r.ID, r.Slug, r.Title, r.Body, r.Category, r.Published, r.UpdatedAt.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestPopulateDeterministic(t *testing.T) {
	a := dump(t, populated(t, 200, 7))
	b := dump(t, populated(t, 200, 7))
	if a != b {
		t.Errorf("same seed, different contents: %s != %s", a, b)
	}
	if c := dump(t, populated(t, 200, 8)); c == a {
		t.Errorf("seeds 7 and 8 give the same contents %s", c)
	}
	// Default seed is 1.
	if d, e := dump(t, populated(t, 200, 0)), dump(t, populated(t, 200, 1)); d != e {
		t.Errorf("seed 0 is not seed 1: %s != %s", d, e)
	}
}

func TestPopulatePrefix(t *testing.T) {
	// A row depends only on the seed and its id.
	small, large := readRows(t, populated(t, 50, 3)), readRows(t, populated(t, 120, 3))
	if diff := cmp.Diff(small, large[:50]); diff != "" {
		t.Errorf("first 50 rows differ between 50 and 120 items (-50 +120):\n%s", diff)
	}
}

func TestPopulateContent(t *testing.T) {
	const n = 2000
	rows := readRows(t, populated(t, n, 1))
	if len(rows) != n {
		t.Fatalf("got %d rows, want %d", len(rows), n)
	}
	perCategory := map[string]int{}
	published, withHeadings, withBold := 0, 0, 0
	for i, r := range rows {
		id := int64(i + 1)
		if r.ID != id {
			t.Fatalf("row %d has id %d", i, r.ID)
		}
		if want := "item-" + strconv.FormatInt(id, 10); r.Slug != want {
			t.Errorf("row %d: slug %q, want %q", id, r.Slug, want)
		}
		words := strings.Fields(r.Title)
		if len(words) < 4 || len(words) > 8 || words[len(words)-1] != strconv.FormatInt(id, 10) {
			t.Errorf("row %d: title %q is not 3 to 7 words and the id", id, r.Title)
		}
		if !r.UpdatedAt.Equal(UpdatedAt(id)) || r.UpdatedAt.Location() != time.UTC {
			t.Errorf("row %d: updated_at %v, want %v", id, r.UpdatedAt, UpdatedAt(id))
		}
		if l := len(r.Body); l < 1500 || l > 2500 {
			t.Errorf("row %d: body of %d bytes, want 1.5 to 2.5 KB", id, l)
		}
		if strings.Contains(r.Body, "\n\n## ") {
			withHeadings++
		}
		if strings.Contains(r.Body, "**") {
			withBold++
		}
		perCategory[r.Category]++
		if r.Published {
			published++
		}
	}
	if len(perCategory) != len(Categories) {
		t.Errorf("%d categories, want %d: %v", len(perCategory), len(Categories), perCategory)
	}
	for _, c := range Categories {
		if got := perCategory[c]; got < n/20*6/10 || got > n/20*14/10 {
			t.Errorf("category %s has %d rows, want about %d", c, got, n/20)
		}
	}
	if share := float64(published) / n; share < 0.86 || share > 0.94 {
		t.Errorf("%.1f%% published, want about 90%%", share*100)
	}
	if withHeadings != n {
		t.Errorf("%d of %d bodies have a ## heading", withHeadings, n)
	}
	if withBold < n*9/10 {
		t.Errorf("only %d of %d bodies have **bold** words", withBold, n)
	}
}

func TestPopulateParagraphs(t *testing.T) {
	for _, r := range readRows(t, populated(t, 100, 5)) {
		for _, p := range strings.Split(r.Body, "\n\n") {
			if strings.HasPrefix(p, "## ") {
				if strings.Contains(p, "\n") {
					t.Errorf("row %d: heading %q spans lines", r.ID, p)
				}
				continue
			}
			if n := strings.Count(p, ". ") + strings.Count(p, "? ") + 1; n < 3 || n > 6 {
				t.Errorf("row %d: paragraph of %d sentences: %q", r.ID, n, p)
			}
		}
	}
}

func TestPopulateErrors(t *testing.T) {
	ctx := context.Background()
	db := populated(t, 10, 1)
	if err := Populate(ctx, db, DialectSQLite, Options{Items: 10}); err == nil {
		t.Error("Populate into a database that has items: no error")
	}
	if err := Populate(ctx, openDB(t), "oracle", Options{}); err == nil {
		t.Error("Populate with an unknown dialect: no error")
	}
	if err := Populate(ctx, openDB(t), DialectSQLite, Options{Items: -1}); err == nil {
		t.Error("Populate with -1 items: no error")
	}
	// The failed load leaves nothing behind, and the connection settings are restored.
	db = openDB(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Populate(cctx, db, DialectSQLite, Options{Items: 5000}); err == nil {
		t.Error("Populate with a canceled context: no error")
	}
	var tables int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'items'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Error("a failed Populate left the items table")
	}
}

func TestPopulateDefaultItems(t *testing.T) {
	var n int
	if err := populated(t, 0, 0).QueryRow("SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1000 {
		t.Errorf("Items 0 gave %d rows, want 1000", n)
	}
}

func TestPopulatePragmas(t *testing.T) {
	tests := []struct {
		name     string
		setup    string // run before Populate
		pageSize int
	}{
		{"new file", "", 16384},
		{"existing content", "CREATE TABLE other (x INTEGER)", 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			db.SetMaxOpenConns(1)
			if tt.setup != "" {
				if _, err := db.Exec(tt.setup); err != nil {
					t.Fatal(err)
				}
			}
			if err := Populate(context.Background(), db, DialectSQLite, Options{Items: 10}); err != nil {
				t.Fatal(err)
			}
			var sync, cache, pageSize int
			var mode string
			for _, p := range []struct {
				name string
				v    any
			}{{"synchronous", &sync}, {"cache_size", &cache}, {"journal_mode", &mode}, {"page_size", &pageSize}} {
				if err := db.QueryRow("PRAGMA " + p.name).Scan(p.v); err != nil {
					t.Fatal(err)
				}
			}
			if sync == 0 || cache == -262144 || mode != "wal" || pageSize != tt.pageSize {
				t.Errorf("after Populate: synchronous %d, cache_size %d, journal_mode %s, page_size %d; want the defaults, wal and %d",
					sync, cache, mode, pageSize, tt.pageSize)
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM items").Scan(&n); err != nil || n != 10 {
				t.Errorf("%d items, error %v; want 10", n, err)
			}
		})
	}
}

func TestMutate(t *testing.T) {
	ctx := context.Background()
	const n = 300
	db := populated(t, n, 4)
	before := readRows(t, db)

	mutate := func(kind string) int64 {
		t.Helper()
		key, err := Mutate(ctx, db, DialectSQLite, kind, Options{Seed: 4})
		if err != nil {
			t.Fatalf("Mutate %s: %v", kind, err)
		}
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			t.Fatalf("Mutate %s: key %q: %v", kind, key, err)
		}
		return id
	}

	t.Run("title", func(t *testing.T) {
		id := mutate(MutateTitle)
		if id < n/2 || !before[id-1].Published {
			t.Fatalf("changed row %d, want a published row at or past %d", id, n/2)
		}
		want := before
		want = append([]row(nil), want...)
		want[id-1].Title += " (edited)"
		if diff := cmp.Diff(want, readRows(t, db)); diff != "" {
			t.Errorf("after a title change (-want +got):\n%s", diff)
		}
		// Twice restores the title.
		if again := mutate(MutateTitle); again != id {
			t.Errorf("second title change on row %d, want %d", again, id)
		}
		if diff := cmp.Diff(before, readRows(t, db)); diff != "" {
			t.Errorf("after two title changes (-want +got):\n%s", diff)
		}
	})

	t.Run("unpublish", func(t *testing.T) {
		id := mutate(MutateUnpublish)
		want := append([]row(nil), before...)
		if !want[id-1].Published {
			t.Fatalf("unpublished row %d was not published", id)
		}
		want[id-1].Published = false
		if diff := cmp.Diff(want, readRows(t, db)); diff != "" {
			t.Errorf("after unpublish (-want +got):\n%s", diff)
		}
		if next := mutate(MutateUnpublish); next <= id {
			t.Errorf("second unpublish changed row %d, want one after %d", next, id)
		}
		before = readRows(t, db)
	})

	t.Run("insert", func(t *testing.T) {
		id := mutate(MutateInsert)
		if id != n+1 {
			t.Fatalf("inserted id %d, want %d", id, n+1)
		}
		got := readRows(t, db)
		if diff := cmp.Diff(before, got[:n]); diff != "" {
			t.Errorf("insert changed other rows (-want +got):\n%s", diff)
		}
		// The new row is the one Populate would make, published, and the latest.
		want := readRows(t, populated(t, n+1, 4))[n]
		want.Published = true
		if diff := cmp.Diff(want, got[n]); diff != "" {
			t.Errorf("inserted row (-want +got):\n%s", diff)
		}
		if !got[n].UpdatedAt.After(got[n-1].UpdatedAt) {
			t.Errorf("inserted row is not the latest: %v", got[n].UpdatedAt)
		}
	})

	t.Run("delete", func(t *testing.T) {
		was := readRows(t, db)
		id := mutate(MutateDelete)
		i := slices.IndexFunc(was, func(r row) bool { return r.ID == id })
		if i < 0 || !was[i].Published || id < n/2 {
			t.Fatalf("deleted row %d, want a published row at or past %d", id, n/2)
		}
		want := slices.Delete(slices.Clone(was), i, i+1)
		if diff := cmp.Diff(want, readRows(t, db)); diff != "" {
			t.Errorf("after delete (-want +got):\n%s", diff)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if _, err := Mutate(ctx, db, DialectSQLite, "truncate", Options{}); err == nil {
			t.Error("unknown kind: no error")
		}
		if _, err := Mutate(ctx, db, "oracle", MutateTitle, Options{}); err == nil {
			t.Error("unknown dialect: no error")
		}
		empty := populated(t, 1, 1)
		if _, err := empty.Exec("DELETE FROM items"); err != nil {
			t.Fatal(err)
		}
		if _, err := Mutate(ctx, empty, DialectSQLite, MutateTitle, Options{}); err == nil {
			t.Error("title change on an empty table: no error")
		}
	})
}

func TestRebind(t *testing.T) {
	tests := []struct{ dialect, in, want string }{
		{DialectSQLite, "UPDATE items SET title = ? WHERE id = ?", "UPDATE items SET title = ? WHERE id = ?"},
		{DialectPostgres, "UPDATE items SET title = ? WHERE id = ?", "UPDATE items SET title = $1 WHERE id = $2"},
		{DialectPostgres, insertStatement(dialect{DialectSQLite}, 2), "INSERT INTO items (" + columns + ") VALUES ($1,$2,$3,$4,$5,$6,$7),($8,$9,$10,$11,$12,$13,$14)"},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			d, err := newDialect(tt.dialect)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, d.rebind(tt.in)); diff != "" {
				t.Errorf("rebind(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func BenchmarkPopulate(b *testing.B) {
	sizes := []int{1000, 10000}
	if *benchItems > 0 {
		sizes = append(sizes, *benchItems)
	}
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var size int64
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				db, err := sql.Open("sqlite", filepath.Join(dir, DatabaseFile))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := Populate(context.Background(), db, DialectSQLite, Options{Items: n}); err != nil {
					b.Fatal(err)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if fi, err := os.Stat(filepath.Join(dir, DatabaseFile)); err == nil {
					size = fi.Size()
				}
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(size), "db-bytes")
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	g := newGenerator(1)
	var buf []byte
	id := int64(0)
	for b.Loop() {
		id++
		buf, _ = g.row(buf[:0], id)
	}
	b.SetBytes(int64(len(buf)))
}

// equalFiles reports whether two files have the same bytes.
func equalFiles(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
