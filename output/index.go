package output

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bakehq/bake"
	_ "modernc.org/sqlite" // the index is an SQLite file
)

// IndexFile is where a build keeps its index, relative to the build folder:
// an SQLite database holding the manifest (one JSON line per file, as
// [bake.ManifestWriter] writes them), every page's deps searchable, and the
// values the site stored for its next incremental update.
const IndexFile = bake.ReservedDir + "/index.db"

// indexVersion changes when the schema does; an index of another version
// is not read, and the next build is a full one.
const indexVersion = "4"

const indexSchema = `
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE pages (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, route TEXT NOT NULL, key TEXT NOT NULL,
	type TEXT NOT NULL, redirect TEXT NOT NULL, lastmod INTEGER, pub TEXT NOT NULL, line TEXT NOT NULL,
	bucket INTEGER NOT NULL);
CREATE TABLE buckets (b INTEGER PRIMARY KEY, digest BLOB, files INTEGER NOT NULL);
CREATE TABLE deps (dep TEXT NOT NULL, page INTEGER NOT NULL, PRIMARY KEY (dep, page)) WITHOUT ROWID;
CREATE TABLE trash (path TEXT PRIMARY KEY) WITHOUT ROWID;
`

// indexLookups are the secondary indexes, created once a full build has
// inserted its pages (faster than keeping them up to date row by row).
const indexLookups = `
CREATE INDEX pages_route ON pages (route, key, path);
CREATE INDEX pages_bucket ON pages (bucket, path);
`

// Index is the index of a build folder, open for reading and for
// incremental updates. It implements [bake.Index].
type Index struct {
	db   *sql.DB
	path string
}

// ErrNoIndex is wrapped by [OpenIndex] when the folder has no index (no
// build yet, or one made by another version of bake).
var ErrNoIndex = errors.New("no build index")

// OpenIndex opens the index of the build folder dir.
func OpenIndex(ctx context.Context, dir string) (*Index, error) {
	p := filepath.Join(dir, filepath.FromSlash(IndexFile))
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open index of %s: %w", dir, ErrNoIndex)
		}
		return nil, fmt.Errorf("open index: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(normal)")
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	// Every render worker looks pages up: keep their connections open (an
	// SQLite connection costs several files opened and the schema read).
	db.SetMaxIdleConns(runtime.GOMAXPROCS(0) + 4)
	x := &Index{db: db, path: p}
	var v string
	if err := db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'version'").Scan(&v); err != nil || v != indexVersion {
		db.Close()
		if err == nil {
			err = fmt.Errorf("version %s, this bake reads %s", v, indexVersion)
		}
		return nil, fmt.Errorf("open index of %s: %w (%v)", dir, ErrNoIndex, err)
	}
	return x, nil
}

// Close closes the index.
func (x *Index) Close() error { return x.db.Close() }

// Lookup returns the entry at path.
func (x *Index) Lookup(ctx context.Context, path string) (bake.Entry, bool, error) {
	line, ok, err := x.Line(ctx, path)
	if !ok || err != nil {
		return bake.Entry{}, false, err
	}
	e, err := decodeLine(line)
	return e, err == nil, err
}

// ReadFile returns the bytes of the file at path in the build folder the
// index describes.
func (x *Index) ReadFile(ctx context.Context, path string) ([]byte, error) {
	name, err := bake.FileName(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(filepath.Dir(x.path)) // <dir>/.bake/index.db
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read build: %w", err)
	}
	defer root.Close()
	b, err := root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read build: %w", err)
	}
	return b, nil
}

// Line returns the manifest line of the entry at path, undecoded: a
// caller that may need only its digest ([LineDigest]) reads it once.
func (x *Index) Line(ctx context.Context, path string) (string, bool, error) {
	var line string
	err := x.db.QueryRowContext(ctx, "SELECT line FROM pages WHERE path = ?", path).Scan(&line)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up %s in index: %w", path, err)
	}
	return line, true, nil
}

// LineDigest returns the input digest ([bake.Page.Digest]) of a manifest
// line, or "" when it has none, reading only that field.
func LineDigest(line string) string {
	// "input" is the last field of a line; a quote inside a string value
	// is escaped, so the marker cannot occur in one.
	const marker = `,"input":"`
	i := strings.LastIndex(line, marker)
	if i < 0 {
		return ""
	}
	rest := line[i+len(marker):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// ByDep returns the entries whose deps include dep, sorted by path.
func (x *Index) ByDep(ctx context.Context, dep bake.Dep) ([]bake.Entry, error) {
	rows, err := x.db.QueryContext(ctx, "SELECT p.line FROM deps d JOIN pages p ON p.id = d.page WHERE d.dep = ? ORDER BY p.path", string(dep))
	if err != nil {
		return nil, fmt.Errorf("find pages of %s: %w", dep, err)
	}
	var out []bake.Entry
	for e, err := range decodeRows(rows) {
		if err != nil {
			return nil, fmt.Errorf("find pages of %s: %w", dep, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Paths returns the paths made by route, sorted; only those of the row key
// when key is not empty.
func (x *Index) Paths(ctx context.Context, route, key string) ([]string, error) {
	q, args := "SELECT path FROM pages WHERE route = ? ORDER BY path", []any{route}
	if key != "" {
		q, args = "SELECT path FROM pages WHERE route = ? AND key = ? ORDER BY path", []any{route, key}
	}
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find pages of route %s: %w", route, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("find pages of route %s: %w", route, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find pages of route %s: %w", route, err)
	}
	return out, nil
}

// Entries streams every entry, sorted by path.
func (x *Index) Entries(ctx context.Context) iter.Seq2[bake.Entry, error] {
	return func(yield func(bake.Entry, error) bool) {
		rows, err := x.db.QueryContext(ctx, "SELECT line FROM pages ORDER BY path")
		if err != nil {
			yield(bake.Entry{}, fmt.Errorf("read index: %w", err))
			return
		}
		for e, err := range decodeRows(rows) {
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// Outline streams every entry, sorted by path, with only its path, route,
// key, type, lastmod and redirect: what a sitemap needs, read without
// decoding the manifest lines.
func (x *Index) Outline(ctx context.Context) iter.Seq2[bake.Entry, error] {
	return func(yield func(bake.Entry, error) bool) {
		rows, err := x.db.QueryContext(ctx, "SELECT path, route, key, type, redirect, lastmod FROM pages ORDER BY path")
		if err != nil {
			yield(bake.Entry{}, fmt.Errorf("read index: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var e bake.Entry
			var lastmod sql.NullInt64
			if err := rows.Scan(&e.Path, &e.Route, &e.Key, &e.Type, &e.Redirect, &lastmod); err != nil {
				yield(bake.Entry{}, fmt.Errorf("read index: %w", err))
				return
			}
			if lastmod.Valid {
				e.LastMod = time.Unix(0, lastmod.Int64).UTC()
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(bake.Entry{}, fmt.Errorf("read index: %w", err))
		}
	}
}

// lastModValue is the lastmod column of a time: nanoseconds since 1970,
// or NULL for none.
func lastModValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// Lines streams the manifest lines of every entry, sorted by path, each
// ending in a newline: the JSON lines of a manifest file without its header.
// The slice is reused between iterations.
func (x *Index) Lines(ctx context.Context) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		rows, err := x.db.QueryContext(ctx, "SELECT line FROM pages ORDER BY path")
		if err != nil {
			yield(nil, fmt.Errorf("read index: %w", err))
			return
		}
		defer rows.Close()
		var b []byte
		for rows.Next() {
			var raw sql.RawBytes
			if err := rows.Scan(&raw); err != nil {
				yield(nil, fmt.Errorf("read index: %w", err))
				return
			}
			b = append(append(b[:0], raw...), '\n')
			if !yield(b, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("read index: %w", err))
		}
	}
}

// WriteManifest writes the index as a manifest file (the format of
// [bake.ManifestWriter]) to w.
func (x *Index) WriteManifest(ctx context.Context, w io.Writer) error {
	if _, err := fmt.Fprintf(w, "{\"bake_manifest\":%d}\n", bake.ManifestVersion); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	for line, err := range x.Lines(ctx) {
		if err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("write manifest: %w", err)
		}
	}
	return nil
}

// Generation returns a value that changes with every build and incremental
// update of the index, so that a reader can tell that the build it read is
// still the one in the folder ("" for an index that has none).
func (x *Index) Generation(ctx context.Context) (string, error) {
	var g string
	err := x.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'generation'").Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read index: %w", err)
	}
	return g, nil
}

func newGeneration() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Value returns a value stored with the build, or "".
func (x *Index) Value(ctx context.Context, name string) (string, error) {
	var v string
	err := x.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = ?", "site:"+name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read index value %s: %w", name, err)
	}
	return v, nil
}

// Count returns the number of entries.
func (x *Index) Count(ctx context.Context) (int, error) {
	var n int
	if err := x.db.QueryRowContext(ctx, "SELECT count(*) FROM pages").Scan(&n); err != nil {
		return 0, fmt.Errorf("count index entries: %w", err)
	}
	return n, nil
}

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
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	defer tx.Rollback()
	st := &stmts{tx: tx, m: map[string]*sql.Stmt{}}
	defer st.close()
	dropDeps := func(id int64, line string) error {
		old, err := decodeLine(line)
		if err != nil {
			return err
		}
		for _, d := range old.Deps {
			if _, err := st.exec(ctx, "DELETE FROM deps WHERE dep = ? AND page = ?", string(d), id); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range u.Remove {
		var id int64
		var line string
		err := st.queryRow(ctx, "SELECT id, line FROM pages WHERE path = ?", p).Scan(&id, &line)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update index: remove %s: %w", p, err)
		}
		if err := dropDeps(id, line); err != nil {
			return fmt.Errorf("update index: remove %s: %w", p, err)
		}
		if _, err := st.exec(ctx, "DELETE FROM pages WHERE id = ?", id); err != nil {
			return fmt.Errorf("update index: remove %s: %w", p, err)
		}
		if _, err := st.exec(ctx, "INSERT OR IGNORE INTO trash (path) VALUES (?)", p); err != nil {
			return fmt.Errorf("update index: remove %s: %w", p, err)
		}
	}
	for _, r := range u.Put {
		e := &r.Entry
		var id int64
		var line string
		err := st.queryRow(ctx, "SELECT id, line FROM pages WHERE path = ?", e.Path).Scan(&id, &line)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := st.exec(ctx, "INSERT INTO pages (path, route, key, type, redirect, lastmod, pub, line, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", e.Path, e.Route, e.Key, e.Type, e.Redirect, lastModValue(e.LastMod), bake.PublishLine(nil, r.Line), string(r.Line), bake.PathBucket(e.Path))
			if err != nil {
				return fmt.Errorf("update index: put %s: %w", e.Path, err)
			}
			if id, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("update index: put %s: %w", e.Path, err)
			}
		case err != nil:
			return fmt.Errorf("update index: put %s: %w", e.Path, err)
		default:
			// Only the deps that differ: a page re-rendered with another
			// row or two keeps most of them.
			old, err := decodeLine(line)
			if err != nil {
				return fmt.Errorf("update index: put %s: %w", e.Path, err)
			}
			for _, d := range old.Deps {
				if _, keep := slices.BinarySearch(e.Deps, d); keep {
					continue
				}
				if _, err := st.exec(ctx, "DELETE FROM deps WHERE dep = ? AND page = ?", string(d), id); err != nil {
					return fmt.Errorf("update index: put %s: %w", e.Path, err)
				}
			}
			if _, err := st.exec(ctx, "UPDATE pages SET route = ?, key = ?, type = ?, redirect = ?, lastmod = ?, pub = ?, line = ? WHERE id = ?", e.Route, e.Key, e.Type, e.Redirect, lastModValue(e.LastMod), bake.PublishLine(nil, r.Line), string(r.Line), id); err != nil {
				return fmt.Errorf("update index: put %s: %w", e.Path, err)
			}
			for _, d := range e.Deps {
				if _, had := slices.BinarySearch(old.Deps, d); had {
					continue
				}
				if _, err := st.exec(ctx, "INSERT OR IGNORE INTO deps (dep, page) VALUES (?, ?)", string(d), id); err != nil {
					return fmt.Errorf("update index: put %s: %w", e.Path, err)
				}
			}
			if _, err := st.exec(ctx, "DELETE FROM trash WHERE path = ?", e.Path); err != nil {
				return fmt.Errorf("update index: put %s: %w", e.Path, err)
			}
			continue
		}
		for _, d := range e.Deps {
			if _, err := st.exec(ctx, "INSERT OR IGNORE INTO deps (dep, page) VALUES (?, ?)", string(d), id); err != nil {
				return fmt.Errorf("update index: put %s: %w", e.Path, err)
			}
		}
		// A page put back at a path removed earlier is no longer trash.
		if _, err := st.exec(ctx, "DELETE FROM trash WHERE path = ?", e.Path); err != nil {
			return fmt.Errorf("update index: put %s: %w", e.Path, err)
		}
	}
	if u.Values != nil {
		if err := putValues(ctx, tx, u.Values); err != nil {
			return fmt.Errorf("update index: %w", err)
		}
	}
	if err := markBuckets(ctx, st, u); err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	if _, err := st.exec(ctx, "INSERT OR REPLACE INTO meta (name, value) VALUES ('generation', ?)", newGeneration()); err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update index: %w", err)
	}
	return nil
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

func putValues(ctx context.Context, tx *sql.Tx, values map[string]string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE name LIKE 'site:%'"); err != nil {
		return fmt.Errorf("store values: %w", err)
	}
	for k, v := range values {
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES (?, ?)", "site:"+k, v); err != nil {
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

func decodeLine(line string) (bake.Entry, error) {
	var e bake.Entry
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		return e, fmt.Errorf("decode index entry: %w", err)
	}
	return e, nil
}

func decodeRows(rows *sql.Rows) iter.Seq2[bake.Entry, error] {
	return func(yield func(bake.Entry, error) bool) {
		defer rows.Close()
		for rows.Next() {
			var raw sql.RawBytes
			if err := rows.Scan(&raw); err != nil {
				yield(bake.Entry{}, err)
				return
			}
			var e bake.Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				yield(bake.Entry{}, fmt.Errorf("decode index entry: %w", err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(bake.Entry{}, err)
		}
	}
}

// IndexWriter writes the index of a new build. Entries come in any order
// (a build adds each page as it is rendered); a second entry at a path is
// refused with a [*DuplicatePathError].
type IndexWriter struct {
	db      *sql.DB
	tx      *sql.Tx
	pages   *sql.Stmt
	deps    *sql.Stmt
	owner   *sql.Stmt
	n       int64
	pending []any // dep rows waiting for a batched insert
	pub     []byte
}

const depBatch = 200

// writerCache is the page cache of an index being written, in KiB: pages
// and deps arrive in no order, and the B-trees they go into stay in memory
// up to about this size (SQLite's default is 2 MiB).
const writerCache = 8 << 10

// NewIndexWriter creates the index file name (which must not exist).
func NewIndexWriter(ctx context.Context, name string) (*IndexWriter, error) {
	db, err := sql.Open("sqlite", "file:"+name+"?_pragma=journal_mode(off)&_pragma=synchronous(off)&_pragma=cache_size(-"+strconv.Itoa(writerCache)+")")
	if err != nil {
		return nil, fmt.Errorf("create index: %w", err)
	}
	db.SetMaxOpenConns(1)
	w := &IndexWriter{db: db}
	if err := w.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("create index: %w", err)
	}
	return w, nil
}

func (w *IndexWriter) init(ctx context.Context) error {
	if _, err := w.db.ExecContext(ctx, indexSchema); err != nil {
		return err
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	w.tx = tx
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES ('generation', ?)", newGeneration()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES ('version', ?)", indexVersion); err != nil {
		return err
	}
	if w.pages, err = tx.PrepareContext(ctx, "INSERT INTO pages (id, path, route, key, type, redirect, lastmod, pub, line, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"); err != nil {
		return err
	}
	if w.owner, err = tx.PrepareContext(ctx, "SELECT route, key FROM pages WHERE path = ?"); err != nil {
		return err
	}
	w.deps, err = tx.PrepareContext(ctx, "INSERT OR IGNORE INTO deps (dep, page) VALUES "+strings.TrimSuffix(strings.Repeat("(?, ?), ", depBatch), ", "))
	return err
}

// DuplicatePathError is returned by [IndexWriter.Add] for an entry at a
// path an earlier entry has: Route and Key are the earlier entry's.
type DuplicatePathError struct {
	Path, Route, Key string
}

func (e *DuplicatePathError) Error() string {
	return fmt.Sprintf("write index: %s: already written by route %q row %q", e.Path, e.Route, e.Key)
}

// sqliteConstraintUnique is SQLite's extended result code of a UNIQUE
// constraint failure.
const sqliteConstraintUnique = 2067

// Add adds one entry; line is its manifest line, without a newline. Of
// e, only the fields [Index.Outline] returns and the deps are read: line
// holds the rest. The index keeps neither.
func (w *IndexWriter) Add(ctx context.Context, e *bake.Entry, line []byte) error {
	w.n++
	w.pub = bake.PublishLine(w.pub[:0], line)
	if _, err := w.pages.ExecContext(ctx, w.n, e.Path, e.Route, e.Key, e.Type, e.Redirect, lastModValue(e.LastMod), w.pub, string(line), bake.PathBucket(e.Path)); err != nil {
		var coded interface{ Code() int }
		if errors.As(err, &coded) && coded.Code() == sqliteConstraintUnique {
			// Named by the page already there (unnamed if it cannot be read).
			d := &DuplicatePathError{Path: e.Path}
			if qerr := w.owner.QueryRowContext(ctx, e.Path).Scan(&d.Route, &d.Key); qerr != nil {
				d.Route, d.Key = "", ""
			}
			return d
		}
		return fmt.Errorf("write index: %s: %w", e.Path, err)
	}
	for _, d := range e.Deps {
		w.pending = append(w.pending, string(d), w.n)
		if len(w.pending) == 2*depBatch {
			if _, err := w.deps.ExecContext(ctx, w.pending...); err != nil {
				return fmt.Errorf("write index: %w", err)
			}
			w.pending = w.pending[:0]
		}
	}
	return nil
}

// Commit stores values, the lookups and the bucket sums, and closes the
// index.
func (w *IndexWriter) Commit(ctx context.Context, values map[string]string) error {
	err := w.flush(ctx)
	if err == nil && values != nil {
		err = putValues(ctx, w.tx, values)
	}
	if err == nil {
		_, err = w.tx.ExecContext(ctx, indexLookups)
	}
	if err == nil {
		err = storeBucketSums(ctx, w.tx)
	}
	if err == nil {
		err = w.tx.Commit()
	}
	if err == nil {
		_, err = w.db.ExecContext(ctx, "PRAGMA journal_mode=WAL")
	} else {
		w.tx.Rollback() // else Close leaves the transaction's connection open
	}
	if cerr := w.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

func (w *IndexWriter) flush(ctx context.Context) error {
	for i := 0; i < len(w.pending); i += 2 {
		if _, err := w.tx.ExecContext(ctx, "INSERT OR IGNORE INTO deps (dep, page) VALUES (?, ?)", w.pending[i], w.pending[i+1]); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	return nil
}

// Abort throws the index away.
func (w *IndexWriter) Abort() {
	w.tx.Rollback()
	w.db.Close()
}

// Check verifies that the searchable deps and outline columns of the index
// say what its entries say; it returns an error naming the first page that differs.
// Tests use it after incremental updates.
func (x *Index) Check(ctx context.Context) error {
	rows, err := x.db.QueryContext(ctx, "SELECT p.path, d.dep FROM deps d JOIN pages p ON p.id = d.page ORDER BY p.path, d.dep")
	if err != nil {
		return fmt.Errorf("check index: %w", err)
	}
	got := map[string][]bake.Dep{}
	for rows.Next() {
		var p, d string
		if err := rows.Scan(&p, &d); err != nil {
			rows.Close()
			return fmt.Errorf("check index: %w", err)
		}
		got[p] = append(got[p], bake.Dep(d))
	}
	rows.Close()
	pubs, err := x.db.QueryContext(ctx, "SELECT path, pub, line FROM pages")
	if err != nil {
		return fmt.Errorf("check index: %w", err)
	}
	for pubs.Next() {
		var p, pub, line string
		if err := pubs.Scan(&p, &pub, &line); err != nil {
			pubs.Close()
			return fmt.Errorf("check index: %w", err)
		}
		if want := string(bake.PublishLine(nil, []byte(line))); pub != want {
			pubs.Close()
			return fmt.Errorf("check index: %s: published line %s, want %s", p, pub, want)
		}
	}
	pubs.Close()
	var outline []bake.Entry
	for o, err := range x.Outline(ctx) {
		if err != nil {
			return err
		}
		outline = append(outline, o)
	}
	i := 0
	for e, err := range x.Entries(ctx) {
		if err != nil {
			return err
		}
		o := outline[i]
		i++
		if o.Path != e.Path || o.Route != e.Route || o.Key != e.Key || o.Type != e.Type || o.Redirect != e.Redirect || !o.LastMod.Equal(e.LastMod) {
			return fmt.Errorf("check index: %s: outline columns say %+v, entry says %+v", e.Path, o, e)
		}
		if !slices.Equal(got[e.Path], e.Deps) {
			return fmt.Errorf("check index: %s: deps table has %v, entry has %v", e.Path, got[e.Path], e.Deps)
		}
		delete(got, e.Path)
	}
	for p := range got {
		return fmt.Errorf("check index: deps of %s, which has no entry", p)
	}
	return x.checkBuckets(ctx)
}
