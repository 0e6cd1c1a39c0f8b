package proxy

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/capture"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	_ "modernc.org/sqlite"
)

// blog is an origin whose pages come from an SQLite database, as a Django
// app's come from its own: /posts/SLUG/, /by-id/ID/ and the list at /.
func blog(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var title string
		var err error
		switch {
		case r.URL.Path == "/":
			rows, qerr := db.Query("SELECT title FROM posts ORDER BY id")
			if qerr != nil {
				http.Error(w, qerr.Error(), 500)
				return
			}
			defer rows.Close()
			for rows.Next() {
				var t string
				rows.Scan(&t)
				title += t + ";"
			}
		case strings.HasPrefix(r.URL.Path, "/posts/"):
			err = db.QueryRow("SELECT title FROM posts WHERE slug = ?", strings.Trim(strings.TrimPrefix(r.URL.Path, "/posts/"), "/")).Scan(&title)
		case strings.HasPrefix(r.URL.Path, "/by-id/"):
			err = db.QueryRow("SELECT title FROM posts WHERE id = ?", strings.Trim(strings.TrimPrefix(r.URL.Path, "/by-id/"), "/")).Scan(&title)
		case r.URL.Path == "/about/":
			title = "about"
		default:
			err = sql.ErrNoRows
		}
		if err != nil {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<p>%s</p>", title)
	})
}

func openBlog(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "blog.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		"CREATE TABLE posts (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, title TEXT NOT NULL)",
		"CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT)",
		"INSERT INTO posts VALUES (1, 'a', 'A'), (2, 'b', 'B'), (3, 'c', 'C')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := capture.Install(context.Background(), db, capture.SQLite, []string{"posts", "authors"}); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRowPurger changes rows of the origin's database and checks that
// exactly the mapped pages of each changed row are purged.
func TestRowPurger(t *testing.T) {
	ctx := context.Background()
	db := openBlog(t)
	p, _, dir := newProxy(t, blog(db), Options{})
	rp, err := NewRowPurger(ctx, p, RowPurgeOptions{DB: db, Dialect: capture.SQLite,
		Tables: []RowPaths{{Table: "posts", Paths: []string{"/posts/{slug}/", "/by-id/{id}/", "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"/", "/about/", "/posts/a/", "/posts/b/", "/posts/c/", "/posts/b2/", "/posts/d/", "/by-id/1/", "/by-id/2/", "/by-id/3/", "/by-id/4/"}
	tests := []struct {
		name, sql string
		want      RowPurgeReport
	}{
		{name: "update a column no path uses", sql: "UPDATE posts SET title = 'A2' WHERE id = 1",
			want: RowPurgeReport{Changes: 1, Purged: []string{"/", "/by-id/1/", "/posts/a/"}}},
		{name: "update the slug: the old one is unknown", sql: "UPDATE posts SET slug = 'b2' WHERE id = 2",
			want: RowPurgeReport{Changes: 1, Purged: []string{"/", "/by-id/2/", "/posts/a/", "/posts/b/", "/posts/c/"}, Prefixes: []string{"/posts/"}}},
		{name: "delete: paths of key columns from the key, others by prefix", sql: "DELETE FROM posts WHERE id = 3",
			want: RowPurgeReport{Changes: 1, Purged: []string{"/", "/by-id/3/", "/posts/a/", "/posts/b2/", "/posts/c/"}, Prefixes: []string{"/posts/"}}},
		{name: "insert", sql: "INSERT INTO posts VALUES (4, 'd', 'D')",
			want: RowPurgeReport{Changes: 1, Purged: []string{"/"}}},
		{name: "two rows at once", sql: "UPDATE posts SET title = title || '!' WHERE id IN (1, 2)",
			want: RowPurgeReport{Changes: 2, Purged: []string{"/", "/by-id/1/", "/by-id/2/", "/posts/a/", "/posts/b2/"}}},
		{name: "a table not mapped purges nothing", sql: "INSERT INTO authors VALUES (1, 'ann')",
			want: RowPurgeReport{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Warm(ctx, all)
			if err != nil {
				t.Fatal(err)
			}
			var before []string
			for _, w := range res {
				if w.Saved {
					before = append(before, w.Path)
				}
			}
			if _, err := db.Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			rep, err := rp.Once(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rep, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			var want []string
			for _, p := range before {
				if !slices.Contains(tt.want.Purged, p) {
					want = append(want, p)
				}
			}
			var got []string
			for p := range saved(t, dir) {
				got = append(got, p)
			}
			if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("saved pages after purge (-want +got):\n%s", diff)
			}
		})
	}
	// The change of authors is left for whoever reads it.
	pending, err := capture.Pending(ctx, db, capture.SQLite, 0)
	if err != nil || len(pending) != 1 || pending[0].Table != "authors" {
		t.Errorf("pending after: %v, %v; want the authors change alone", pending, err)
	}
}

// TestRowPurgerRunRewarms follows changes as they come and fetches the
// purged pages again, so that the saved page shows the new row.
func TestRowPurgerRunRewarms(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openBlog(t)
	p, ps, _ := newProxy(t, blog(db), Options{})
	rp, err := NewRowPurger(ctx, p, RowPurgeOptions{DB: db, Dialect: capture.SQLite, Rewarm: true, Poll: 10 * time.Millisecond,
		Tables: []RowPaths{{Table: "posts", Paths: []string{"/posts/{slug}/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- rp.Run(ctx) }()
	if _, body := get(t, ps.URL+"/posts/a/", nil); body != "<p>A</p>" {
		t.Fatalf("first: %q", body)
	}
	if _, err := db.Exec("UPDATE posts SET title = 'A, new' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, body := get(t, ps.URL+"/posts/a/", nil); body == "<p>A, new</p>" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the saved page was not purged and warmed again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestParsePathTemplate(t *testing.T) {
	tests := []struct {
		in, prefix, err string
		cols            []string
	}{
		{in: "/", prefix: "/"},
		{in: "/posts/{slug}/", prefix: "/posts/", cols: []string{"slug"}},
		{in: "/{year}/{month}/{slug}.html", prefix: "/", cols: []string{"year", "month", "slug"}},
		{in: "/posts/p-{id}/", prefix: "/posts/", cols: []string{"id"}},
		{in: "posts/{slug}/", err: "starts with /"},
		{in: "/posts/{sl ug}/", err: "not a column name"},
		{in: "/posts/{slug/", err: "unbalanced"},
		{in: "/posts/../", err: ".."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePathTemplate(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.prefix != tt.prefix || !slices.Equal(got.columns(), tt.cols) {
				t.Errorf("prefix %q, columns %v; want %q, %v", got.prefix, got.columns(), tt.prefix, tt.cols)
			}
		})
	}
}

// TestSavedPageRowDeps checks the deps a saved page gets on the rows of
// [[proxy.purge]]: on the table alone while no database is given, on the
// rows its path names (by primary key) once a RowPurger gives it.
func TestSavedPageRowDeps(t *testing.T) {
	ctx := context.Background()
	db := openBlog(t)
	if _, err := db.Exec("CREATE TABLE tags (post INTEGER, tag TEXT, PRIMARY KEY (post, tag)); INSERT INTO tags VALUES (1, 'go'), (2, 'go'), (2, 'sql')"); err != nil {
		t.Fatal(err)
	}
	if err := capture.Install(ctx, db, capture.SQLite, []string{"tags"}); err != nil {
		t.Fatal(err)
	}
	base := blog(db)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/tags/") {
			fmt.Fprint(w, "<p>tag</p>")
			return
		}
		base.ServeHTTP(w, r)
	})
	rows := []RowPaths{
		{Table: "posts", Paths: []string{"/posts/{slug}/", "/by-id/{id}/", "/"}},
		{Table: "tags", Paths: []string{"/tags/{tag}/", "/"}},
	}
	p, _, dir := newKind(t, "middleware", app, Options{Rows: rows})
	warm := func(paths ...string) {
		t.Helper()
		res, err := p.Warm(ctx, paths)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range res {
			if !w.Saved {
				t.Fatalf("%s not saved: %s", w.Path, w.Why)
			}
		}
	}
	warm("/", "/posts/a/", "/about/")
	want := map[string]string{
		"/":         "proxy table:posts,table:tags,url:/",
		"/posts/a/": "proxy table:posts,url:/posts/a/",
		"/about/":   "proxy url:/about/",
	}
	if diff := cmp.Diff(want, saved(t, dir)); diff != "" {
		t.Errorf("without a database (-want +got):\n%s", diff)
	}
	if _, err := NewRowPurger(ctx, p, RowPurgeOptions{DB: db, Dialect: capture.SQLite, Tables: rows}); err != nil {
		t.Fatal(err)
	}
	warm("/", "/posts/a/", "/by-id/2/", "/tags/go/", "/tags/none/", "/about/")
	want = map[string]string{
		"/":           "proxy table:posts,table:tags,url:/",
		"/posts/a/":   "proxy row:posts/1,url:/posts/a/",
		"/by-id/2/":   "proxy row:posts/2,url:/by-id/2/",
		"/tags/go/":   "proxy row:tags/1,go,row:tags/2,go,url:/tags/go/",
		"/tags/none/": "proxy table:tags,url:/tags/none/",
		"/about/":     "proxy url:/about/",
	}
	if diff := cmp.Diff(want, saved(t, dir)); diff != "" {
		t.Errorf("with the database (-want +got):\n%s", diff)
	}
}
