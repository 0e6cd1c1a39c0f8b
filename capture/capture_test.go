package capture_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/bakehq/bake/capture"
	"github.com/bakehq/bake/internal/testenv"
)

var dialects = []string{capture.SQLite, capture.Postgres}

// forEachDialect runs f as a parallel subtest per dialect.
func forEachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// newDB returns a fresh, empty database of dialect and a function that opens
// another handle on it.
func newDB(t *testing.T, dialect string) (*sql.DB, func() *sql.DB) {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(t.TempDir(), "site.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	if dialect == capture.Postgres {
		driver, dsn = "pgx", testenv.PostgresSchema(t)
	}
	open := func() *sql.DB {
		t.Helper()
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open(), open
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// schema is the user's tables of the tests, the same on both dialects.
var schema = []string{
	`CREATE TABLE items (id integer PRIMARY KEY, title text, body text)`,
	`INSERT INTO items VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', NULL)`,
	`CREATE TABLE tags (item_id integer, tag text, note text, PRIMARY KEY (item_id, tag))`,
	`INSERT INTO tags VALUES (1, 'go', 'n1')`,
	`CREATE TABLE "Mixed Case" ("Key" text PRIMARY KEY, "Title" text, "it's ""odd""" text)`,
	`INSERT INTO "Mixed Case" VALUES ('K1', 't', 'o')`,
	`CREATE TABLE Folded (id integer PRIMARY KEY, v text)`,
	`INSERT INTO Folded VALUES (1, 'v')`,
	`CREATE TABLE pages (slug text PRIMARY KEY, body text)`,
	`INSERT INTO pages VALUES ('about', 'hi')`,
}

var schemaTables = []string{"items", "tags", "Mixed Case", "Folded", "pages"}

// ignoreIDAt compares changes without their ID and time, checked apart.
var ignoreIDAt = cmpopts.IgnoreFields(capture.Change{}, "ID", "At")

// pending returns every pending change and checks their IDs grow and their
// times are now.
func pending(t *testing.T, db *sql.DB, dialect string) []capture.Change {
	t.Helper()
	got, err := capture.Pending(context.Background(), db, dialect, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range got {
		if i > 0 && c.ID <= got[i-1].ID {
			t.Errorf("change %d has ID %d after %d", i, c.ID, got[i-1].ID)
		}
		if d := time.Since(c.At); d < -time.Minute || d > time.Minute {
			t.Errorf("change %d at %v, not now", c.ID, c.At)
		}
	}
	return got
}

func ins(table, key string) capture.Change {
	return capture.Change{Table: table, Key: key, Op: "insert"}
}

func upd(table, key string, cols ...string) capture.Change {
	return capture.Change{Table: table, Key: key, Op: "update", Columns: cols}
}

func del(table, key string) capture.Change {
	return capture.Change{Table: table, Key: key, Op: "delete"}
}

func TestRecord(t *testing.T) {
	tests := []struct {
		name      string
		only      string   // a dialect, or "" for both
		setup     []string // more tables, created before Install
		tables    []string // more tables to install on
		run       []string // run in one transaction after Install
		rollback  bool     // roll that transaction back
		unordered bool     // rows of one statement: order by key
		want      []capture.Change
	}{{
		name: "insert",
		run:  []string{`INSERT INTO items VALUES (42, 't', 'b')`},
		want: []capture.Change{ins("items", "42")},
	}, {
		name: "update one column",
		run:  []string{`UPDATE items SET title = 'z' WHERE id = 1`},
		want: []capture.Change{upd("items", "1", "title")},
	}, {
		name: "update columns sorted",
		run:  []string{`UPDATE items SET title = 'z', body = 'w' WHERE id = 1`},
		want: []capture.Change{upd("items", "1", "body", "title")},
	}, {
		name: "update to and from NULL",
		run:  []string{`UPDATE items SET body = NULL WHERE id = 1`, `UPDATE items SET body = 'q' WHERE id = 3`},
		want: []capture.Change{upd("items", "1", "body"), upd("items", "3", "body")},
	}, {
		name: "update that changes nothing",
		run: []string{
			`UPDATE items SET title = title`,
			`UPDATE items SET title = 'a', body = 'x' WHERE id = 1`,
			`UPDATE items SET body = NULL WHERE id = 3`,
		},
	}, {
		name: "delete",
		run:  []string{`DELETE FROM items WHERE id = 2`},
		want: []capture.Change{del("items", "2")},
	}, {
		name: "key change is delete and insert",
		run:  []string{`UPDATE items SET id = 10 WHERE id = 1`, `UPDATE items SET id = 11, title = 'q' WHERE id = 2`},
		want: []capture.Change{del("items", "1"), ins("items", "10"), del("items", "2"), ins("items", "11")},
	}, {
		name:      "statement on many rows",
		run:       []string{`UPDATE items SET title = 'b'`},
		unordered: true,
		want:      []capture.Change{upd("items", "1", "title"), upd("items", "3", "title")},
	}, {
		name: "composite key",
		run: []string{
			`INSERT INTO tags VALUES (1, 'sql', 'n')`,
			`UPDATE tags SET note = 'm' WHERE item_id = 1 AND tag = 'go'`,
			`DELETE FROM tags WHERE tag = 'sql'`,
			`UPDATE tags SET tag = 'golang' WHERE tag = 'go'`,
		},
		want: []capture.Change{
			ins("tags", "1,sql"), upd("tags", "1,go", "note"), del("tags", "1,sql"),
			del("tags", "1,go"), ins("tags", "1,golang"),
		},
	}, {
		name: "quoted mixed-case names",
		run: []string{
			`INSERT INTO "Mixed Case" VALUES ('K2', 'u', 'p')`,
			`UPDATE "Mixed Case" SET "Title" = 'v', "it's ""odd""" = 'w' WHERE "Key" = 'K1'`,
			`UPDATE "Mixed Case" SET "Key" = 'k1' WHERE "Key" = 'K1'`,
			`DELETE FROM "Mixed Case" WHERE "Key" = 'K2'`,
		},
		want: []capture.Change{
			ins("Mixed Case", "K2"), upd("Mixed Case", "K1", "Title", `it's "odd"`),
			del("Mixed Case", "K1"), ins("Mixed Case", "k1"), del("Mixed Case", "K2"),
		},
	}, {
		name: "table named as created unquoted",
		run:  []string{`INSERT INTO Folded VALUES (2, 'w')`, `UPDATE folded SET v = 'x' WHERE id = 1`},
		want: []capture.Change{ins("Folded", "2"), upd("Folded", "1", "v")},
	}, {
		name: "text key",
		run:  []string{`UPDATE pages SET body = 'hello' WHERE slug = 'about'`, `INSERT INTO pages VALUES ('a,b', NULL)`},
		want: []capture.Change{upd("pages", "about", "body"), ins("pages", "a,b")},
	}, {
		name:     "rolled back",
		run:      []string{`INSERT INTO items VALUES (42, 't', 'b')`, `UPDATE items SET title = 'z'`, `DELETE FROM pages`},
		rollback: true,
	}, {
		name:   "many columns",
		setup:  []string{wideTable(1200), `INSERT INTO wide (id) VALUES (1)`},
		tables: []string{"wide"},
		run:    []string{`UPDATE wide SET c1199 = 'x', c7 = 'y' WHERE id = 1`},
		want:   []capture.Change{upd("wide", "1", "c1199", "c7")},
	}, {
		name:   "case change in a NOCASE column",
		only:   capture.SQLite,
		setup:  []string{`CREATE TABLE nc (id text COLLATE NOCASE PRIMARY KEY, name text COLLATE NOCASE)`, `INSERT INTO nc VALUES ('a', 'bob')`},
		tables: []string{"nc"},
		run:    []string{`UPDATE nc SET name = 'Bob'`, `UPDATE nc SET id = 'A'`},
		want:   []capture.Change{upd("nc", "a", "name"), del("nc", "a"), ins("nc", "A")},
	}, {
		name:   "numeric scale change",
		only:   capture.Postgres,
		setup:  []string{`CREATE TABLE prices (id integer PRIMARY KEY, amount numeric)`, `INSERT INTO prices VALUES (1, 1.0)`},
		tables: []string{"prices"},
		run:    []string{`UPDATE prices SET amount = 1.00`, `UPDATE prices SET amount = 1.00`},
		want:   []capture.Change{upd("prices", "1", "amount")},
	}}
	forEachDialect(t, func(t *testing.T, dialect string) {
		for _, tt := range tests {
			if tt.only != "" && tt.only != dialect {
				continue
			}
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				db, _ := newDB(t, dialect)
				exec(t, db, schema...)
				exec(t, db, tt.setup...)
				if err := capture.Install(ctx, db, dialect, slices.Concat(schemaTables, tt.tables)); err != nil {
					t.Fatal(err)
				}
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range tt.run {
					if _, err := tx.Exec(s); err != nil {
						tx.Rollback()
						t.Fatalf("%s: %v", s, err)
					}
				}
				if tt.rollback {
					err = tx.Rollback()
				} else {
					err = tx.Commit()
				}
				if err != nil {
					t.Fatal(err)
				}
				got := pending(t, db, dialect)
				var opts []cmp.Option
				if tt.unordered {
					opts = append(opts, cmpopts.SortSlices(func(a, b capture.Change) bool { return a.Key < b.Key }))
				}
				if diff := cmp.Diff(tt.want, got, append(opts, ignoreIDAt, cmpopts.EquateEmpty())...); diff != "" {
					t.Errorf("changes (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// wideTable returns the DDL of table wide with an id and n text columns c0….
func wideTable(n int) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE wide (id integer PRIMARY KEY")
	for i := range n {
		fmt.Fprintf(&b, ", c%d text", i)
	}
	b.WriteString(")")
	return b.String()
}

func TestInstallErrors(t *testing.T) {
	tests := []struct {
		name    string
		dialect string // "" for each dialect
		tables  []string
		want    []string // in the error message
	}{
		{name: "missing table", tables: []string{"items", "nosuch"}, want: []string{"install change capture on nosuch: no such table"}},
		{name: "no primary key", tables: []string{"nopk"}, want: []string{"install change capture on nopk: no primary key", "give the table one"}},
		{name: "view", tables: []string{"v"}, want: []string{"install change capture on v: it is a view"}},
		{name: "own table", tables: []string{"items", capture.Table}, want: []string{"install change capture on bake_changes: it is bake's own table"}},
		{name: "unknown dialect", dialect: "mysql", tables: []string{"items"}, want: []string{`unknown dialect "mysql": want "sqlite" or "postgres"`}},
	}
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _ := newDB(t, dialect)
		exec(t, db, schema...)
		exec(t, db, `CREATE TABLE nopk (a text, b text)`, `CREATE VIEW v AS SELECT * FROM items`)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := dialect
				if tt.dialect != "" {
					d = tt.dialect
				}
				err := capture.Install(ctx, db, d, tt.tables)
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				// A failed Install installs nothing, not even on the good tables.
				if got, err := capture.Installed(ctx, db, dialect); err != nil || len(got) != 0 {
					t.Errorf("Installed = %q, %v; want none", got, err)
				}
			})
		}
	})
}

func TestUnknownDialect(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t, capture.SQLite)
	errs := map[string]error{
		"Uninstall": capture.Uninstall(ctx, db, "mysql"),
		"Consume":   capture.Consume(ctx, db, "mysql", []int64{1}),
		"Wait":      capture.Wait(ctx, db, "mysql", 0, 0),
	}
	_, errs["Installed"] = capture.Installed(ctx, db, "mysql")
	_, errs["Pending"] = capture.Pending(ctx, db, "mysql", 0)
	for name, err := range errs {
		if err == nil || !strings.Contains(err.Error(), `unknown dialect "mysql": want "sqlite" or "postgres"`) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// bakeObjects lists what the catalog holds of bake's: tables, triggers,
// functions.
func bakeObjects(t *testing.T, db *sql.DB, dialect string) []string {
	t.Helper()
	q := `SELECT type || ' ' || name || ' on ' || tbl_name FROM sqlite_master WHERE name LIKE 'bake%'`
	var seq int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'`).Scan(&seq); err == nil && seq > 0 {
		// AUTOINCREMENT's table, which SQLite keeps once made, must not
		// keep a row of bake_changes.
		q += ` UNION ALL SELECT 'sequence of ' || name FROM sqlite_sequence WHERE name LIKE 'bake%'`
	}
	if dialect == capture.Postgres {
		q = `SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'bake%'
				AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
			UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proname LIKE 'bake%' AND pronamespace = current_schema()::regnamespace
			UNION ALL SELECT 'relation ' || relname FROM pg_class WHERE relname LIKE 'bake%' AND relnamespace = current_schema()::regnamespace`
	}
	rows, err := db.Query(q + " ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dump returns the user's data, to show capture leaves it alone.
func dump(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT id, title, body FROM items ORDER BY id`,
		`SELECT item_id, tag, note FROM tags ORDER BY item_id, tag`,
		`SELECT "Key", "Title", "it's ""odd""" FROM "Mixed Case" ORDER BY "Key"`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c sql.NullString
			if err := rows.Scan(&a, &b, &c); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(a, b, c))
		}
		rows.Close()
	}
	return out
}

func TestInstallUninstall(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _ := newDB(t, dialect)
		exec(t, db, schema...)
		if got := bakeObjects(t, db, dialect); len(got) != 0 {
			t.Fatalf("bake objects before Install: %q", got)
		}
		data := dump(t, db)

		installed := func(want ...string) {
			t.Helper()
			got, err := capture.Installed(ctx, db, dialect)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Installed (-want +got):\n%s", diff)
			}
		}
		installed()
		for _, tables := range [][]string{{"items"}, {"items", "Mixed Case"}, {"tags"}, {"Mixed Case", "tags"}} {
			if err := capture.Install(ctx, db, dialect, tables); err != nil {
				t.Fatal(err)
			}
		}
		installed("Mixed Case", "items", "tags")
		objects := bakeObjects(t, db, dialect)

		// Installing again replaces the triggers: the same objects, and a
		// column added since is covered.
		exec(t, db, `ALTER TABLE items ADD COLUMN extra text`)
		if err := capture.Install(ctx, db, dialect, []string{"items", "tags"}); err != nil {
			t.Fatal(err)
		}
		installed("Mixed Case", "items", "tags")
		if diff := cmp.Diff(objects, bakeObjects(t, db, dialect)); diff != "" {
			t.Errorf("bake objects after a second Install (-first +second):\n%s", diff)
		}
		exec(t, db, `UPDATE items SET extra = 'e' WHERE id = 2`)
		if diff := cmp.Diff([]capture.Change{upd("items", "2", "extra")}, pending(t, db, dialect), ignoreIDAt); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		// PostgreSQL's trigger names no column; SQLite's name each, and
		// SQLite will not drop a column a trigger names.
		_, err := db.Exec(`ALTER TABLE items DROP COLUMN extra`)
		if dialect == capture.SQLite {
			if err == nil || !strings.Contains(err.Error(), "error in trigger bake_changes_items_upd") {
				t.Errorf("SQLite dropped a column bake's trigger names: error %v", err)
			}
		} else if err != nil {
			t.Error(err)
		}
		if diff := cmp.Diff(data, dump(t, db)); diff != "" {
			t.Errorf("data after Install (-before +after):\n%s", diff)
		}

		for range 2 { // Uninstall is idempotent
			if err := capture.Uninstall(ctx, db, dialect); err != nil {
				t.Fatal(err)
			}
			if got := bakeObjects(t, db, dialect); len(got) != 0 {
				t.Errorf("bake objects after Uninstall: %q", got)
			}
			installed()
		}
		if diff := cmp.Diff(data, dump(t, db)); diff != "" {
			t.Errorf("data after Uninstall (-before +after):\n%s", diff)
		}
		// No trigger is left behind to fail the user's writes or migrations.
		if dialect == capture.SQLite {
			exec(t, db, `ALTER TABLE items DROP COLUMN extra`)
		}
		exec(t, db, `INSERT INTO items VALUES (9, 'n', 'n')`, `UPDATE items SET title = 'm'`, `DELETE FROM tags`,
			`UPDATE "Mixed Case" SET "Title" = 'x'`)
		_, err = capture.Pending(ctx, db, dialect, 0)
		if err == nil || !strings.Contains(err.Error(), "bake_changes does not exist") {
			t.Errorf("Pending after Uninstall: error %v, want bake_changes does not exist", err)
		}
	})
}

func TestPostgresQualifiedName(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t, capture.Postgres)
	exec(t, db, schema...)
	var s string
	if err := db.QueryRow(`SELECT current_schema()`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	name := s + ".items"
	if err := capture.Install(ctx, db, capture.Postgres, []string{name}); err != nil {
		t.Fatal(err)
	}
	got, err := capture.Installed(ctx, db, capture.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{name}, got); diff != "" {
		t.Errorf("Installed (-want +got):\n%s", diff)
	}
	// The same table named another way replaces the trigger.
	if err := capture.Install(ctx, db, capture.Postgres, []string{"items"}); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `DELETE FROM items WHERE id = 1`)
	if diff := cmp.Diff([]capture.Change{del("items", "1")}, pending(t, db, capture.Postgres), ignoreIDAt); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func TestPendingConsume(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _ := newDB(t, dialect)
		exec(t, db, `CREATE TABLE items (id integer PRIMARY KEY, title text)`)
		if err := capture.Install(ctx, db, dialect, []string{"items"}); err != nil {
			t.Fatal(err)
		}
		if got, err := capture.Pending(ctx, db, dialect, 0); err != nil || len(got) != 0 {
			t.Fatalf("Pending before any change = %v, %v", got, err)
		}
		const n = 1600
		insert(t, db, 1, n)

		keys := func(cs []capture.Change) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.Key)
			}
			return out
		}
		span := func(from, to int) []string {
			var out []string
			for i := from; i <= to; i++ {
				out = append(out, fmt.Sprint(i))
			}
			return out
		}
		tests := []struct {
			limit int
			want  []string
		}{{10, span(1, 10)}, {1, span(1, 1)}, {0, span(1, n)}, {-1, span(1, n)}, {n + 5, span(1, n)}}
		for _, tt := range tests {
			got, err := capture.Pending(ctx, db, dialect, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, keys(got)); diff != "" {
				t.Errorf("Pending(%d) keys (-want +got):\n%s", tt.limit, diff)
			}
		}

		all := pending(t, db, dialect)
		var ids []int64
		for _, c := range all[:1500] {
			ids = append(ids, c.ID)
		}
		// Consuming 1500 IDs, some twice and some never recorded.
		if err := capture.Consume(ctx, db, dialect, append(ids, ids[0], all[n-1].ID+1000)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(span(1501, n), keys(pending(t, db, dialect))); diff != "" {
			t.Errorf("pending after Consume (-want +got):\n%s", diff)
		}
		if err := capture.Consume(ctx, db, dialect, nil); err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			ids = append(ids, c.ID) // already consumed ones again
		}
		if err := capture.Consume(ctx, db, dialect, ids); err != nil {
			t.Fatal(err)
		}
		if got := pending(t, db, dialect); len(got) != 0 {
			t.Errorf("pending after consuming all: %d", len(got))
		}
		// IDs keep growing once everything is consumed, as Wait's after needs.
		insert(t, db, n+1, n+1)
		got := pending(t, db, dialect)
		if len(got) != 1 || got[0].ID <= all[n-1].ID {
			t.Errorf("after consuming all, new change %+v; want an ID above %d", got, all[n-1].ID)
		}
	})
}

// insert adds items from to to (inclusive), one statement a row, in one
// transaction.
func insert(t *testing.T, db *sql.DB, from, to int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := from; i <= to; i++ {
		if _, err := tx.Exec(fmt.Sprintf(`INSERT INTO items (id, title) VALUES (%d, 't')`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestWait(t *testing.T) {
	const poll = 20 * time.Millisecond
	forEachDialect(t, func(t *testing.T, dialect string) {
		db, open := newDB(t, dialect)
		// One connection: Wait on PostgreSQL must hand it back clean, and
		// the writer below must use its own handle.
		db.SetMaxOpenConns(1)
		writer := open()
		exec(t, db, `CREATE TABLE items (id integer PRIMARY KEY, title text)`)
		if err := capture.Install(context.Background(), db, dialect, []string{"items"}); err != nil {
			t.Fatal(err)
		}
		last := func() int64 {
			t.Helper()
			cs := pending(t, db, dialect)
			if len(cs) == 0 {
				return 0
			}
			return cs[len(cs)-1].ID
		}
		wait := func(timeout time.Duration, after int64) (error, time.Duration) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err := capture.Wait(ctx, db, dialect, after, poll)
			return err, time.Since(start)
		}

		// Nothing pending: Wait runs until ctx is done.
		if err, d := wait(300*time.Millisecond, 0); !errors.Is(err, context.DeadlineExceeded) || d < 250*time.Millisecond {
			t.Errorf("Wait with nothing pending = %v after %v; want context deadline exceeded after 300ms", err, d)
		}

		// A change already pending: Wait returns at once.
		exec(t, writer, `INSERT INTO items VALUES (1, 'a')`)
		if err, d := wait(10*time.Second, 0); err != nil || d > 2*time.Second {
			t.Errorf("Wait with a change pending = %v after %v; want nil at once", err, d)
		}
		// Changes already seen do not count.
		seen := last()
		if err, _ := wait(200*time.Millisecond, seen); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait after the last change = %v; want context deadline exceeded", err)
		}

		// A change made while waiting wakes it.
		done := make(chan error, 1)
		go func() {
			time.Sleep(150 * time.Millisecond)
			_, err := writer.Exec(`UPDATE items SET title = 'b' WHERE id = 1`)
			done <- err
		}()
		if err, d := wait(10*time.Second, seen); err != nil || d < 100*time.Millisecond {
			t.Errorf("Wait for a change made while waiting = %v after %v", err, d)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := last(); got <= seen {
			t.Errorf("last change %d, want one after %d", got, seen)
		}

		// Cancelling ctx ends Wait with ctx's error.
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if err := capture.Wait(ctx, db, dialect, last(), poll); err != context.Canceled {
			t.Errorf("Wait cancelled = %v; want %v", err, context.Canceled)
		}

		if dialect == capture.Postgres {
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM pg_listening_channels()`).Scan(&n); err != nil || n != 0 {
				t.Errorf("connection after Wait listens on %d channels (%v); want none", n, err)
			}
		}

		// Not installed: an error at once, not a wait.
		if err := capture.Uninstall(context.Background(), db, dialect); err != nil {
			t.Fatal(err)
		}
		if err, _ := wait(10*time.Second, 0); err == nil || !strings.Contains(err.Error(), "wait for changes: bake_changes does not exist") {
			t.Errorf("Wait when not installed = %v", err)
		}
	})
}
