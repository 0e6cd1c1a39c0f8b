package benchsite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// batchRows is the number of rows of one INSERT statement: 3,500
// parameters, well below the limits of SQLite (32,766) and PostgreSQL (65,535).
const batchRows = 500

// columns are the columns of items, in the order of the INSERT parameters.
const columns = "id, slug, title, body, category, published, updated_at"

// createTable is the same on SQLite and PostgreSQL. updated_at is declared
// TIMESTAMP so that the SQLite driver returns a time.Time.
const createTable = `CREATE TABLE items (
	id INTEGER PRIMARY KEY,
	slug TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	category TEXT NOT NULL,
	published BOOLEAN NOT NULL,
	updated_at TIMESTAMP NOT NULL
)`

// createIndexes run after the rows are in: building an index at once is
// faster than growing it row by row. The slug index is the UNIQUE constraint
// of the column; the others serve the list, category, feed and home queries.
// items_category is in the order the category route reads (published
// first, the equality; then its ORDER BY category, updated_at DESC, id
// DESC), so that query needs no sort: in (category, published, updated_at,
// id) order, SQLite sorted each category's rows again, 0.35 s of a full
// build at N = 100,000. Both also hold the other columns the list routes
// read (slug, title, category), as a site with such lists would index
// them: the lists are read from the index alone, without fetching each
// row from the table, which holds the 2 KB bodies (schema 3; in C, the
// items list query 0.22 -> 0.09 s, the category one 0.68 -> 0.09 s).
var createIndexes = []string{
	"CREATE UNIQUE INDEX items_slug ON items (slug)",
	"CREATE INDEX items_published ON items (published, updated_at, id, slug, title, category)",
	"CREATE INDEX items_category ON items (published, category, updated_at DESC, id DESC, slug, title)",
}

// SchemaVersion changes when the table or its indexes do: a database made
// with another version is made again (bake bench keeps it otherwise).
const SchemaVersion = 3

// Populate creates the table items in db and inserts opts.Items rows as the
// bench README describes:
//
//	id          1..N
//	slug        item-<id> (unique)
//	title       3 to 7 words and the id
//	body        about 2 KB of Markdown: paragraphs of 3 to 6 sentences,
//	            "## " headings and **bold** words
//	category    one of Categories, about evenly
//	published   true for about 90% of rows
//	updated_at  UpdatedAt(id): Epoch plus id minutes, UTC
//
// The content of a row depends only on opts.Seed and its id: the same options
// give the same database. dialect is "sqlite" or "postgres". Populate fails if
// the table exists already. Everything happens in one transaction, then the
// table is analyzed for the query planner.
//
// On SQLite, the load runs on one connection with synchronous=OFF and a
// 256 MiB cache, restored after; a new database file gets 16 KiB pages (rows
// of 2 KB waste half of 4 KiB pages), is loaded with the rollback journal in
// memory and is left in WAL mode; a database that has other tables is loaded
// in WAL mode.
func Populate(ctx context.Context, db *sql.DB, dialect string, opts Options) (err error) {
	d, err := newDialect(dialect)
	if err != nil {
		return err
	}
	opts = opts.withDefaults()
	if opts.Items < 0 {
		return fmt.Errorf("populate: negative item count %d", opts.Items)
	}
	// One connection: SQLite pragmas are per connection.
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	defer conn.Close()
	if d.name == DialectSQLite {
		restore, ferr := fastLoad(ctx, conn)
		if ferr != nil {
			return fmt.Errorf("populate: %w", ferr)
		}
		defer func() {
			if rerr := restore(); rerr != nil && err == nil {
				err = fmt.Errorf("populate: restore connection settings: %w", rerr)
			}
		}()
	}
	if err := populate(ctx, conn, d, opts); err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	return nil
}

func populate(ctx context.Context, conn *sql.Conn, d dialect, opts Options) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("create table items: %w", err)
	}
	if err := insertRows(ctx, tx, d, opts); err != nil {
		return err
	}
	for _, q := range createIndexes {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// Statistics for the query planner, as a real site would have.
	if _, err := conn.ExecContext(ctx, "ANALYZE items"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// fastLoad sets the SQLite connection up for a bulk load and returns a
// function that restores its per-connection settings.
//
// On a new, empty database the load runs with the rollback journal in memory,
// then the database is switched to WAL: a load in WAL mode writes every page
// twice (into the WAL, then into the database at the checkpoint), which
// doubles the time of a 2 GB load. A crash during such a load leaves a broken
// file that had nothing in it. A database that has content already is loaded
// in WAL mode.
func fastLoad(ctx context.Context, conn *sql.Conn) (restore func() error, err error) {
	var sync, cache, pages int64
	for _, p := range []struct {
		pragma string
		v      *int64
	}{{"synchronous", &sync}, {"cache_size", &cache}, {"page_count", &pages}} {
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.v); err != nil {
			return nil, fmt.Errorf("read pragma %s: %w", p.pragma, err)
		}
	}
	fresh := pages == 0
	restore = func() error {
		ctx := context.WithoutCancel(ctx)
		_, err1 := conn.ExecContext(ctx, "PRAGMA synchronous = "+strconv.FormatInt(sync, 10))
		_, err2 := conn.ExecContext(ctx, "PRAGMA cache_size = "+strconv.FormatInt(cache, 10))
		var err3 error
		if fresh {
			err3 = conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(new(string))
		}
		return errors.Join(err1, err2, err3)
	}
	pragmas := []string{
		// Rows are about 2.2 KB: 4 KiB pages would hold one each, half
		// empty. page_size only takes effect on a new database file.
		"PRAGMA page_size = 16384",
		"PRAGMA journal_mode = WAL",
		"PRAGMA synchronous = OFF",
		"PRAGMA cache_size = -262144", // 256 MiB: index builds sort in memory
	}
	if fresh {
		pragmas[1] = "PRAGMA journal_mode = MEMORY"
	}
	for _, p := range pragmas {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			restore()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return restore, nil
}

// batch is a group of generated rows, ready to be the parameters of one
// INSERT. Batches are reused: the text of all its rows is built in one
// buffer, then converted into one string that the parameters slice.
type batch struct {
	n     int
	buf   []byte
	items []item
	times []span
	args  []any
}

func (b *batch) fill(g *generator, d dialect, first int64, n int) {
	b.n = n
	b.buf = b.buf[:0]
	b.items = b.items[:0]
	b.times = b.times[:0]
	for id := first; id < first+int64(n); id++ {
		var it item
		b.buf, it = g.row(b.buf, id)
		b.items = append(b.items, it)
		if d.name == DialectSQLite {
			s := len(b.buf)
			b.buf = UpdatedAt(id).AppendFormat(b.buf, time.DateTime)
			b.times = append(b.times, span{s, len(b.buf)})
		}
	}
	text := string(b.buf)
	b.args = b.args[:0]
	for i, it := range b.items {
		var updated any
		if d.name == DialectSQLite {
			updated = text[b.times[i].start:b.times[i].end]
		} else {
			updated = UpdatedAt(it.id)
		}
		b.args = append(b.args,
			it.id,
			text[it.slug.start:it.slug.end],
			text[it.title.start:it.title.end],
			text[it.body.start:it.body.end],
			it.category,
			it.published,
			updated,
		)
	}
}

// insertStatement returns an INSERT of n rows.
func insertStatement(d dialect, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO items (" + columns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	return d.rebind(b.String())
}

// insertRows inserts the rows 1..opts.Items. One goroutine generates the
// next batch while the database inserts the current one.
func insertRows(ctx context.Context, tx *sql.Tx, d dialect, opts Options) error {
	if opts.Items == 0 {
		return nil
	}
	full, err := tx.PrepareContext(ctx, insertStatement(d, min(batchRows, opts.Items)))
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer full.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *batch, 2)
	free <- new(batch)
	free <- new(batch)
	ready := make(chan *batch, 1)
	go func() {
		defer close(ready)
		g := newGenerator(opts.Seed)
		total := int64(opts.Items)
		for id := int64(1); id <= total; {
			var b *batch
			select {
			case b = <-free:
			case <-ctx.Done():
				return
			}
			b.fill(g, d, id, int(min(batchRows, total-id+1)))
			select {
			case ready <- b:
			case <-ctx.Done():
				return
			}
			id += int64(b.n)
		}
	}()
	// On an error, stop the generator and wait for it to close ready.
	fail := func(err error) error {
		cancel()
		for range ready {
		}
		return err
	}
	inserted := 0
	for b := range ready {
		stmt := full
		if b.n < batchRows && b.n != opts.Items {
			// The last, short batch.
			stmt, err = tx.PrepareContext(ctx, insertStatement(d, b.n))
			if err != nil {
				return fail(fmt.Errorf("prepare insert: %w", err))
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, b.args...); err != nil {
			return fail(fmt.Errorf("insert items %d-%d: %w", inserted+1, inserted+b.n, err))
		}
		inserted += b.n
		free <- b
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if inserted != opts.Items {
		return errors.New("insert items: generator stopped early")
	}
	return nil
}
