package output

// Incremental updates of an index: pages put and removed in one
// transaction, and the trash of removed pages whose files may remain.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
)

// Record is one entry to store in an index, with its manifest line (the
// JSON encoding of the entry, without a newline).
type Record struct {
	Entry bake.Entry
	Line  []byte
}

// Update is one incremental change to an index.
type Update struct {
	Put    []Record          // entries added or changed
	Remove []string          // paths no longer in the build; their files are put in the trash
	Values map[string]string // site values, replacing all earlier ones when not nil
}

// Apply makes u in one transaction. The paths removed are recorded in the
// trash, so that a crash between Apply and the deletion of their files
// leaves a note for the next build ([Index.Trash]).
func (x *Index) Apply(ctx context.Context, u Update) error {
	a, err := x.Begin(ctx)
	if err != nil {
		return err
	}
	defer a.Rollback()
	if err := a.Remove(ctx, u.Remove); err != nil {
		return err
	}
	if err := a.Put(ctx, u.Put); err != nil {
		return err
	}
	return a.Commit(ctx, u.Values)
}

// An Applier makes one [Update] in parts, in one transaction that no
// reader sees until Commit: an incremental build puts the pages it wrote
// while it renders the rest (1,900 after an insert at the top of a list of
// 100,000 rows), rather than all of them once it is done. Its methods are
// for one goroutine; the index's other methods may run meanwhile, and read
// the index as it was before Begin.
type Applier struct {
	x     *Index
	tx    *sql.Tx
	st    *stmts
	sets  map[string]int64 // dep sets found in this update, by key
	marks Update           // the paths put and removed, for markBuckets
	err   error            // the first error: the others fail with it
	done  bool
	// prepared: Prepare ran; Put and Remove may not follow
	prepared bool
}

// Begin starts an update of the index. Call Rollback when done with it
// (after Commit, it does nothing).
func (x *Index) Begin(ctx context.Context) (*Applier, error) {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("update index: %w", err)
	}
	// The pages an update changes stay in memory until it commits: with
	// the default cache (2 MB), 1,900 list pages shifted by an insert
	// spilled to the log and were written there again and again.
	if _, err := tx.ExecContext(ctx, "PRAGMA cache_size = -65536"); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("update index: %w", err)
	}
	return &Applier{x: x, tx: tx, st: &stmts{tx: tx, m: map[string]*sql.Stmt{}}, sets: map[string]int64{}}, nil
}

// Rollback forgets what the Applier did, unless it was committed.
func (a *Applier) Rollback() {
	a.x.forgetLines()
	if a.done {
		return
	}
	a.done = true
	a.st.close()
	a.tx.Rollback()
}

// fail keeps the first error.
func (a *Applier) fail(err error) error {
	if a.err == nil {
		a.err = err
	}
	return a.err
}

func (a *Applier) findSet(ctx context.Context, key string) (int64, error) {
	if id, ok := a.sets[key]; ok {
		return id, nil
	}
	id, err := findDepset(ctx, a.st, key, a.x.depsetLimit())
	if err == nil {
		a.sets[key] = id
	}
	return id, err
}

func (a *Applier) dropDeps(ctx context.Context, id int64, line string, set int64) error {
	oldDeps, err := lineDeps(line)
	if err != nil {
		return err
	}
	for _, d := range ownDeps(oldDeps, set) {
		if _, err := a.st.exec(ctx, "DELETE FROM deps WHERE dep = ? AND page = ?", string(d), id); err != nil {
			return err
		}
	}
	return nil
}

// Remove takes the pages at paths out of the index and puts their paths in
// the trash. A path both removed and put in one update is not supported.
func (a *Applier) Remove(ctx context.Context, paths []string) error {
	if a.err != nil {
		return a.err
	}
	if a.prepared {
		return a.fail(errors.New("update index: a change after Prepare"))
	}
	st := a.st
	for _, p := range paths {
		a.marks.Remove = append(a.marks.Remove, p)
		var id, set int64
		var line string
		err := st.queryRow(ctx, "SELECT id, line, depset FROM pages WHERE path = ?", p).Scan(&id, &line, &set)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return a.fail(fmt.Errorf("update index: remove %s: %w", p, err))
		}
		if err := a.dropDeps(ctx, id, line, set); err != nil {
			return a.fail(fmt.Errorf("update index: remove %s: %w", p, err))
		}
		if _, err := st.exec(ctx, "DELETE FROM pages WHERE id = ?", id); err != nil {
			return a.fail(fmt.Errorf("update index: remove %s: %w", p, err))
		}
		if err := dropDepset(ctx, st, set); err != nil {
			return a.fail(fmt.Errorf("update index: remove %s: %w", p, err))
		}
		clear(a.sets) // the set dropped may be one of them
		if _, err := st.exec(ctx, "INSERT OR IGNORE INTO trash (path) VALUES (?)", p); err != nil {
			return a.fail(fmt.Errorf("update index: remove %s: %w", p, err))
		}
	}
	return nil
}

// Put adds or replaces the entries of put.
func (a *Applier) Put(ctx context.Context, put []Record) error {
	if a.err != nil {
		return a.err
	}
	if a.prepared {
		return a.fail(errors.New("update index: a change after Prepare"))
	}
	st := a.st
	findSet := func(key string) (int64, error) { return a.findSet(ctx, key) }
	known, err := prevPages(ctx, a.tx, put)
	if err != nil {
		return a.fail(fmt.Errorf("update index: %w", err))
	}
	for _, r := range put {
		a.marks.Put = append(a.marks.Put, Record{Entry: bake.Entry{Path: r.Entry.Path}})
		e := &r.Entry
		own, set, err := placeDeps(e.Deps, findSet)
		if err != nil {
			return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
		}
		var id, oldSet int64
		var line string
		var was pageCols
		if k, ok := known[e.Path]; ok {
			delete(known, e.Path) // a path put twice is looked up again
			id, line, oldSet, was = k.id, k.line, k.set, k.cols
			if id == 0 {
				err = sql.ErrNoRows
			}
		} else {
			err = st.queryRow(ctx, "SELECT id, line, depset, route, key, type, redirect, lastmod FROM pages WHERE path = ?", e.Path).Scan(&id, &line, &oldSet, &was.route, &was.key, &was.typ, &was.redirect, &was.lastmod)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := st.exec(ctx, "INSERT INTO pages (path, route, key, type, redirect, lastmod, pub, line, bucket, depset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", e.Path, e.Route, e.Key, e.Type, e.Redirect, lastModValue(e.LastMod), pubformat.Line(nil, r.Line), string(r.Line), pubformat.Bucket(e.Path), set)
			if err != nil {
				return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
			}
			if id, err = res.LastInsertId(); err != nil {
				return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
			}
		case err != nil:
			return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
		default:
			if err := a.replace(ctx, r, id, line, oldSet, was, own, set); err != nil {
				return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
			}
			// No trash to take it out of: a path goes to the trash only
			// when its page leaves the pages table.
			continue
		}
		for _, d := range own {
			if _, err := st.exec(ctx, "INSERT OR IGNORE INTO deps (dep, page) VALUES (?, ?)", string(d), id); err != nil {
				return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
			}
		}
		// A page put back at a path removed earlier is no longer trash.
		if _, err := st.exec(ctx, "DELETE FROM trash WHERE path = ?", e.Path); err != nil {
			return a.fail(fmt.Errorf("update index: put %s: %w", e.Path, err))
		}
	}
	return nil
}

// replace updates page id, which had line, dep set oldSet and columns was,
// to record r, whose own deps and dep set are own and set.
func (a *Applier) replace(ctx context.Context, r Record, id int64, line string, oldSet int64, was pageCols, own []bake.Dep, set int64) error {
	st := a.st
	e := &r.Entry
	// Only the deps that differ: a page re-rendered with another row or
	// two keeps most of them.
	oldDeps, err := lineDeps(line)
	if err != nil {
		return err
	}
	oldOwn := ownDeps(oldDeps, oldSet)
	for _, d := range oldOwn {
		if _, keep := slices.BinarySearch(own, d); keep {
			continue
		}
		if _, err := st.exec(ctx, "DELETE FROM deps WHERE dep = ? AND page = ?", string(d), id); err != nil {
			return err
		}
	}
	// Only pub and line when the rest is as it was (a list page with other
	// rows): SQLite rewrites the entries of every index whose columns an
	// UPDATE sets, changed or not.
	now := pageCols{e.Route, e.Key, e.Type, e.Redirect, sql.NullInt64{}}
	if lm := lastModValue(e.LastMod); lm != nil {
		now.lastmod = sql.NullInt64{Int64: lm.(int64), Valid: true}
	}
	if now == was && set == oldSet {
		_, err = st.exec(ctx, "UPDATE pages SET pub = ?, line = ? WHERE id = ?", pubformat.Line(nil, r.Line), string(r.Line), id)
	} else {
		_, err = st.exec(ctx, "UPDATE pages SET route = ?, key = ?, type = ?, redirect = ?, lastmod = ?, pub = ?, line = ?, depset = ? WHERE id = ?", e.Route, e.Key, e.Type, e.Redirect, lastModValue(e.LastMod), pubformat.Line(nil, r.Line), string(r.Line), set, id)
	}
	if err != nil {
		return err
	}
	for _, d := range own {
		if _, had := slices.BinarySearch(oldOwn, d); had {
			continue
		}
		if _, err := st.exec(ctx, "INSERT OR IGNORE INTO deps (dep, page) VALUES (?, ?)", string(d), id); err != nil {
			return err
		}
	}
	if oldSet != set {
		if err := dropDepset(ctx, st, oldSet); err != nil {
			return err
		}
		clear(a.sets) // the set dropped may be one of them
	}
	return nil
}

// Prepare stores values (the site's, replacing all earlier ones, when
// not nil) and does the rest of the update's work but its commit, which
// Commit then makes. A caller may do other work in between (an update
// moves its files into place): the transaction is still open.
func (a *Applier) Prepare(ctx context.Context, values map[string]string) error {
	if a.err != nil {
		return a.err
	}
	if a.done {
		return a.fail(errors.New("update index: already committed or rolled back"))
	}
	if a.prepared {
		return a.fail(errors.New("update index: already prepared"))
	}
	st := a.st
	if values != nil {
		if err := putValues(ctx, a.tx, values); err != nil {
			return a.fail(fmt.Errorf("update index: %w", err))
		}
	}
	if err := markBuckets(ctx, st, a.marks); err != nil {
		return a.fail(fmt.Errorf("update index: %w", err))
	}
	if _, err := st.exec(ctx, "INSERT OR REPLACE INTO meta (name, value) VALUES ('generation', ?)", newGeneration()); err != nil {
		return a.fail(fmt.Errorf("update index: %w", err))
	}
	a.prepared = true
	return nil
}

// Commit commits the update, storing values as Prepare does first, unless
// Prepare ran: values must then be nil (those given to Prepare are stored).
func (a *Applier) Commit(ctx context.Context, values map[string]string) error {
	defer a.x.forgetLines()
	if !a.prepared {
		if err := a.Prepare(ctx, values); err != nil {
			return err
		}
	} else if values != nil {
		return a.fail(errors.New("update index: values given to Commit after Prepare"))
	}
	if a.err != nil {
		return a.err
	}
	if a.done {
		return a.fail(errors.New("update index: already committed or rolled back"))
	}
	a.st.close()
	a.done = true
	if err := a.tx.Commit(); err != nil {
		return a.fail(fmt.Errorf("update index: %w", err))
	}
	return nil
}

// prevPage is what Apply reads of a page before putting it again; id 0
// when there is none at its path.
type prevPage struct {
	id, set int64
	line    string
	cols    pageCols
}

// prevBatch is how many pages prevPages reads in one query.
const prevBatch = 500

// prevPages reads the pages at the paths of put, a few hundred a query
// rather than one (1,900 pages after an insert at the top of a list of
// 100,000 rows): each path gets an entry, with id 0 when no page is there.
func prevPages(ctx context.Context, tx *sql.Tx, put []Record) (map[string]prevPage, error) {
	out := make(map[string]prevPage, len(put))
	for batch := range slices.Chunk(put, prevBatch) {
		args := make([]any, len(batch))
		for i, r := range batch {
			args[i] = r.Entry.Path
			out[r.Entry.Path] = prevPage{}
		}
		rows, err := tx.QueryContext(ctx, "SELECT path, id, line, depset, route, key, type, redirect, lastmod FROM pages WHERE path IN (?"+strings.Repeat(", ?", len(batch)-1)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("read pages: %w", err)
		}
		for rows.Next() {
			var path string
			var p prevPage
			if err := rows.Scan(&path, &p.id, &p.line, &p.set, &p.cols.route, &p.cols.key, &p.cols.typ, &p.cols.redirect, &p.cols.lastmod); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read pages: %w", err)
			}
			out[path] = p
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read pages: %w", err)
		}
	}
	return out, nil
}

// pageCols are the columns of a page besides its lines and dep set.
type pageCols struct {
	route, key, typ, redirect string
	lastmod                   sql.NullInt64
}

// stmts prepares each statement of a transaction once: an incremental
// update runs the same few statements for every page it writes.
type stmts struct {
	tx  *sql.Tx
	m   map[string]*sql.Stmt
	err error
}

func (s *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.m[query]; ok {
		return st, nil
	}
	st, err := s.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.m[query] = st
	return st, nil
}

func (s *stmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *stmts) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := s.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *stmts) close() {
	for _, st := range s.m {
		st.Close()
	}
}

type scanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// putValues replaces the site's values with values, writing only those
// that changed: an update stores them all (the cuts of every stable list,
// 190 KB at 100,000 rows of the bench site), and most are as they were.
func putValues(ctx context.Context, tx *sql.Tx, values map[string]string) error {
	rows, err := tx.QueryContext(ctx, "SELECT name, value FROM meta WHERE name LIKE 'site:%'")
	if err != nil {
		return fmt.Errorf("store values: %w", err)
	}
	old := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return fmt.Errorf("store values: %w", err)
		}
		old[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store values: %w", err)
	}
	for k := range old {
		if _, keep := values[strings.TrimPrefix(k, "site:")]; !keep {
			if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE name = ?", k); err != nil {
				return fmt.Errorf("store values: %w", err)
			}
		}
	}
	for k, v := range values {
		if was, ok := old["site:"+k]; ok && was == v {
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", "site:"+k, v); err != nil {
			return fmt.Errorf("store values: %w", err)
		}
	}
	return nil
}

// Trash returns the paths removed from the index whose files may still be
// in the build folder.
func (x *Index) Trash(ctx context.Context) ([]string, error) {
	rows, err := x.db.QueryContext(ctx, "SELECT path FROM trash ORDER BY path")
	if err != nil {
		return nil, fmt.Errorf("read index trash: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("read index trash: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// EmptyTrash forgets paths whose files are deleted.
func (x *Index) EmptyTrash(ctx context.Context, paths []string) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("empty index trash: %w", err)
	}
	defer tx.Rollback()
	for _, p := range paths {
		if _, err := tx.ExecContext(ctx, "DELETE FROM trash WHERE path = ?", p); err != nil {
			return fmt.Errorf("empty index trash: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("empty index trash: %w", err)
	}
	return nil
}
