package output

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/bakehq/bake"
)

// FragmentsFile is where a build keeps its fragment cache, relative to the
// build folder. A full build writes a new one with the fragments it used;
// incremental builds add to it.
const FragmentsFile = bake.ReservedDir + "/fragments.db"

// fragmentFlush is how many bytes of new fragments are held in memory
// before they are written.
const fragmentFlush = 8 << 20

// Fragments is the fragment cache of a build folder, an SQLite file. It
// implements [bake.FragmentCache]: fragments put are visible at once, and
// written at the latest by Close. A fragment that cannot be read is a miss;
// the first write error is returned by Close.
type Fragments struct {
	db      *sql.DB
	get     *sql.Stmt
	prev    *sql.DB // the cache of the build being replaced, read only; or nil
	prevGet *sql.Stmt
	mu      sync.Mutex
	pending map[string][]byte
	size    int
	err     error
}

// OpenFragments opens (creating it if needed) the fragment cache of the
// build folder dir. When prevDir is not empty, fragments missing from dir
// are looked up in prevDir's cache too, and copied: a full build, made in
// a new folder, starts from the fragments of the build it replaces, and
// keeps only those it used.
func OpenFragments(ctx context.Context, dir, prevDir string) (*Fragments, error) {
	p := filepath.Join(dir, filepath.FromSlash(FragmentsFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("open fragment cache: %w", err)
	}
	db, err := openFragmentDB(p, "")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS fragments (key TEXT PRIMARY KEY, html BLOB NOT NULL) WITHOUT ROWID"); err != nil {
		db.Close()
		return nil, fmt.Errorf("open fragment cache %s: %w", p, err)
	}
	f := &Fragments{db: db, pending: map[string][]byte{}}
	if f.get, err = db.PrepareContext(ctx, "SELECT html FROM fragments WHERE key = ?"); err != nil {
		db.Close()
		return nil, fmt.Errorf("open fragment cache %s: %w", p, err)
	}
	if prevDir != "" {
		pp := filepath.Join(prevDir, filepath.FromSlash(FragmentsFile))
		if _, err := os.Stat(pp); err == nil {
			// A cache that cannot be opened is no cache: start empty.
			if prev, err := openFragmentDB(pp, "&_pragma=query_only(1)"); err == nil {
				if f.prevGet, err = prev.PrepareContext(ctx, "SELECT html FROM fragments WHERE key = ?"); err == nil {
					f.prev = prev
				} else {
					prev.Close()
				}
			}
		}
	}
	return f, nil
}

func openFragmentDB(p, extra string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(normal)"+extra)
	if err != nil {
		return nil, fmt.Errorf("open fragment cache: %w", err)
	}
	db.SetMaxIdleConns(runtime.GOMAXPROCS(0) + 2)
	return db, nil
}

// Get implements [bake.FragmentCache].
func (f *Fragments) Get(key string) ([]byte, bool) {
	f.mu.Lock()
	b, ok := f.pending[key]
	f.mu.Unlock()
	if ok {
		return b, true
	}
	var html []byte
	if err := f.get.QueryRow(key).Scan(&html); err == nil {
		return html, true
	}
	if f.prev == nil {
		return nil, false
	}
	if err := f.prevGet.QueryRow(key).Scan(&html); err != nil {
		return nil, false
	}
	f.Put(key, html)
	return html, true
}

// Put implements [bake.FragmentCache].
func (f *Fragments) Put(key string, html []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pending[key]; ok {
		return
	}
	f.pending[key] = html
	f.size += len(key) + len(html)
	if f.size >= fragmentFlush {
		f.flushLocked()
	}
}

// Flush writes the fragments put so far.
func (f *Fragments) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushLocked()
	return f.err
}

func (f *Fragments) flushLocked() {
	if len(f.pending) == 0 || f.err != nil {
		return
	}
	err := func() error {
		tx, err := f.db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		st, err := tx.Prepare("INSERT OR IGNORE INTO fragments (key, html) VALUES (?, ?)")
		if err != nil {
			return err
		}
		for k, v := range f.pending {
			if _, err := st.Exec(k, v); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		f.err = fmt.Errorf("write fragment cache: %w", err)
		return
	}
	f.pending = map[string][]byte{}
	f.size = 0
}

// Count returns the number of fragments stored.
func (f *Fragments) Count(ctx context.Context) (int, error) {
	if err := f.Flush(); err != nil {
		return 0, err
	}
	var n int
	err := f.db.QueryRowContext(ctx, "SELECT count(*) FROM fragments").Scan(&n)
	return n, err
}

// Close writes what is pending and closes the file.
func (f *Fragments) Close() error {
	err := f.Flush()
	if f.prev != nil {
		f.prev.Close()
	}
	return errors.Join(err, f.db.Close())
}
