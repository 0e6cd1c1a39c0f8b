package watch

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bakehq/bake/capture"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next event, failing after a generous time.
func next(t *testing.T, w *Watcher) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	return ev
}

// none checks that no event comes within a while.
func none(t *testing.T, w *Watcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if ev, err := w.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("event %+v, %v; want none", ev, err)
	}
}

// TestFiles: edits to the site's files are reported by name, once per
// burst, through file events and through polling alike; the build folder,
// dot-files and journals are not watched.
func TestFiles(t *testing.T) {
	for _, polling := range []bool{false, true} {
		name := map[bool]string{false: "events", true: "polling"}[polling]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "bake.toml"), "[site]\n")
			write(t, filepath.Join(dir, "templates", "item.html"), "v1")
			write(t, filepath.Join(dir, "_site", "index.html"), "built")
			w, err := New(context.Background(), Options{Dir: dir, Skip: []string{filepath.Join(dir, "_site")}, Polling: polling, Poll: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()

			write(t, filepath.Join(dir, "templates", "item.html"), "v2 longer")
			if got, want := next(t, w), (Event{Files: []string{"templates/item.html"}}); !cmp.Equal(got, want) {
				t.Errorf("template edit: %+v, want %+v", got, want)
			}

			// Not watched: the build folder, dot-files, SQLite journals.
			write(t, filepath.Join(dir, "_site", "index.html"), "built again")
			write(t, filepath.Join(dir, "_site", "new", "index.html"), "new page")
			write(t, filepath.Join(dir, ".bake", "objects", "x"), "publish store")
			write(t, filepath.Join(dir, "templates", ".item.html.swp"), "editor")
			write(t, filepath.Join(dir, "site.db-wal"), "journal")
			none(t, w)

			// A burst is one event; a new folder's files count.
			write(t, filepath.Join(dir, "static", "css", "a.css"), "a")
			write(t, filepath.Join(dir, "static", "css", "b.css"), "b")
			os.Remove(filepath.Join(dir, "templates", "item.html"))
			got := next(t, w)
			for _, f := range []string{"static/css/a.css", "static/css/b.css", "templates/item.html"} {
				if !slices.Contains(got.Files, f) {
					t.Errorf("burst: %v lacks %s", got.Files, f)
				}
			}
			if got.Rows {
				t.Error("burst: rows reported")
			}
		})
	}
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestOnly: with Only, a file elsewhere in the site folder (a log) is no
// change; the inputs named are.
func TestOnly(t *testing.T) {
	for _, polling := range []bool{false, true} {
		t.Run(map[bool]string{false: "events", true: "polling"}[polling], func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "bake.toml"), "[site]\n")
			write(t, filepath.Join(dir, "templates", "a.html"), "a")
			w, err := New(context.Background(), Options{Dir: dir, Only: []string{"bake.toml", "templates", "static"}, Polling: polling, Poll: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			write(t, filepath.Join(dir, "run.log"), "a log line")
			write(t, filepath.Join(dir, "notes", "x.txt"), "notes")
			none(t, w)
			write(t, filepath.Join(dir, "bake.toml"), "[site]\ntitle = \"x\"\n")
			if got := next(t, w); !cmp.Equal(got, Event{Files: []string{"bake.toml"}}) {
				t.Errorf("bake.toml edit: %+v", got)
			}
			write(t, filepath.Join(dir, "static", "new.css"), "x") // a folder made after New
			if got := next(t, w); !slices.Contains(got.Files, "static/new.css") {
				t.Errorf("new static folder: %+v", got)
			}
		})
	}
}

// TestRowsSQLite: a row written by another program is a row change, with
// change capture installed or not; the database file written is not a
// file change.
func TestRowsSQLite(t *testing.T) {
	for _, withCapture := range []bool{false, true} {
		t.Run(map[bool]string{false: "data_version", true: "capture"}[withCapture], func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "site.db")
			writer := openSQLite(t, path)
			exec(t, writer, `CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT)`)
			if withCapture {
				if err := capture.Install(context.Background(), writer, capture.SQLite, []string{"items"}); err != nil {
					t.Fatal(err)
				}
				exec(t, writer, `INSERT INTO items VALUES (1, 'before the watch')`)
			}
			reader := openSQLite(t, path)
			w, err := New(context.Background(), Options{Dir: dir, DB: reader, Dialect: capture.SQLite, DBFile: path, Poll: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.Capture() != withCapture {
				t.Errorf("Capture() = %v", w.Capture())
			}
			none(t, w) // a change made before New is the first build's
			exec(t, writer, `INSERT INTO items VALUES (2, 'new')`)
			if got := next(t, w); !cmp.Equal(got, Event{Rows: true}) {
				t.Errorf("insert: %+v, want rows only", got)
			}
			if withCapture {
				// Consuming the changes is no change.
				pending, err := capture.Pending(context.Background(), writer, capture.SQLite, 0)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, c := range pending {
					ids = append(ids, c.ID)
				}
				if err := capture.Consume(context.Background(), writer, capture.SQLite, ids); err != nil {
					t.Fatal(err)
				}
				none(t, w)
				exec(t, writer, `UPDATE items SET title = 'again' WHERE id = 2`)
				if got := next(t, w); !got.Rows {
					t.Errorf("update after consume: %+v, want rows", got)
				}
			}
		})
	}
}

// TestRowsPostgres: with capture installed, a row change arrives through
// LISTEN/NOTIFY.
func TestRowsPostgres(t *testing.T) {
	url := testenv.PostgresSchema(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec(t, db, `CREATE TABLE items (id integer PRIMARY KEY, title text)`)
	if err := capture.Install(context.Background(), db, capture.Postgres, []string{"items"}); err != nil {
		t.Fatal(err)
	}
	// A long poll: the change must come through the notification.
	w, err := New(context.Background(), Options{Dir: t.TempDir(), DB: db, Dialect: capture.Postgres, Poll: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.Capture() {
		t.Fatal("Capture() = false")
	}
	time.Sleep(200 * time.Millisecond) // let it LISTEN
	exec(t, db, `INSERT INTO items VALUES (1, 'new')`)
	if got := next(t, w); !got.Rows {
		t.Errorf("insert: %+v, want rows", got)
	}
}
