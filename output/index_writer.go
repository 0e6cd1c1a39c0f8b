package output

// Writing the index of a new (full) build.

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
)

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
	sets    map[string]int64 // dep sets made, by key (see splitDeps)
	st      *stmts           // for makeDepset
	// maxDepsets, if not zero, lowers the most dep sets (tests).
	maxDepsets int
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
	w.st = &stmts{tx: tx, m: map[string]*sql.Stmt{}}
	w.sets = map[string]int64{}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES ('generation', ?)", newGeneration()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES ('version', ?)", indexVersion); err != nil {
		return err
	}
	if w.pages, err = tx.PrepareContext(ctx, "INSERT INTO pages (id, path, route, key, type, redirect, lastmod, pub, line, bucket, depset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"); err != nil {
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
	w.pub = pubformat.Line(w.pub[:0], line)
	own, set, err := placeDeps(e.Deps, func(key string) (int64, error) { return w.depset(ctx, key) })
	if err != nil {
		return fmt.Errorf("write index: %s: %w", e.Path, err)
	}
	if _, err := w.pages.ExecContext(ctx, w.n, e.Path, e.Route, e.Key, e.Type, e.Redirect, lastModValue(e.LastMod), w.pub, string(line), pubformat.Bucket(e.Path), set); err != nil {
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
	for _, d := range own {
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

// depset returns the id of the dep set with this key, made the first time;
// 0 for no key, or when the index has as many sets as it may.
func (w *IndexWriter) depset(ctx context.Context, key string) (int64, error) {
	if key == "" {
		return 0, nil
	}
	if id, ok := w.sets[key]; ok {
		return id, nil
	}
	if len(w.sets) >= cmp.Or(w.maxDepsets, maxDepsets) {
		return 0, nil
	}
	id, err := makeDepset(ctx, w.st, int64(len(w.sets)+1), key)
	if err != nil {
		return 0, err
	}
	w.sets[key] = id
	return id, nil
}

// Commit stores values and the lookups, and closes the index. The bucket
// sums are left to the first [Index.Buckets] (see bucketLookup).
func (w *IndexWriter) Commit(ctx context.Context, values map[string]string) error {
	err := w.flush(ctx)
	if err == nil && values != nil {
		err = putValues(ctx, w.tx, values)
	}
	if err == nil {
		_, err = w.tx.ExecContext(ctx, indexLookups)
	}
	if err == nil {
		_, err = w.tx.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES (?, '1')", sumsPending)
	}
	w.st.close()
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
	w.st.close()
	w.tx.Rollback()
	w.db.Close()
}
