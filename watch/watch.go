// Package watch notices edits to a site as they happen: files under the
// site folder (bake.toml, templates, static files) through the operating
// system's file events (fsnotify), polling only where events are
// unavailable, and rows of the site's database, through change capture
// when it is installed (LISTEN on PostgreSQL, the bake_changes table on
// SQLite) or else the database's own change counter.
//
// It is the one change source of bake: bake serve and bake watch wait on
// [Watcher.Next] and hand what changed to the build engine
// ([github.com/bakehq/bake/build.Run]), which works out what each change
// re-renders.
package watch

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake/capture"
	"github.com/fsnotify/fsnotify"
)

// Event is what changed since the previous event.
type Event struct {
	// Files are the files created, written, removed or renamed, relative
	// to the site folder, slash-separated and sorted.
	Files []string `json:"files,omitempty"`
	// Rows reports that rows of the database may have changed.
	Rows bool `json:"rows,omitempty"`
}

// String describes e for logs: "templates/item.html", "rows", "3 files".
func (e Event) String() string {
	var parts []string
	switch len(e.Files) {
	case 0:
	case 1:
		parts = append(parts, e.Files[0])
	default:
		parts = append(parts, fmt.Sprintf("%d files (%s, …)", len(e.Files), e.Files[0]))
	}
	if e.Rows {
		parts = append(parts, "rows")
	}
	return strings.Join(parts, " and ")
}

// Options configure a [Watcher].
type Options struct {
	// Dir is the site folder. Every file under it is watched but for
	// dot-files and dot-folders, the folders in Skip, and SQLite's
	// journal files; only the files and folders named in Only, if set.
	Dir string
	// Only, if set, names the files and folders of Dir to watch (its
	// inputs: bake.toml, templates, static), so that a log file or an
	// editor's backup elsewhere in the site folder is no change.
	Only []string
	// Skip lists folders under Dir not to watch (the build folder).
	Skip []string
	// DB, if set, is the site's database, watched for row changes: through
	// change capture when it is installed, else through the database's
	// change counter (PRAGMA data_version on SQLite; the sum of the table
	// statistics on PostgreSQL, which lag by up to half a second).
	DB *sql.DB
	// Dialect is DB's: capture.SQLite or capture.Postgres.
	Dialect string
	// DBFile is the SQLite database file, if under Dir: writes to it are
	// left to the row watch, but its removal or replacement (a new
	// database made from the seed) counts as a row change.
	DBFile string
	// Poll is how often the database is asked for changes, and files are
	// scanned where there are no file events. If zero, 250ms.
	Poll time.Duration
	// Debounce is how long to wait after a change for more, so that a
	// burst (an editor's save, a batch of writes) makes one event. If
	// zero, 100ms.
	Debounce time.Duration
	// Polling makes files be scanned every Poll instead of watched through
	// events (for file systems without them: some network mounts).
	Polling bool
	// Logger receives debug logs. If nil, logs are discarded.
	Logger *slog.Logger
}

// Watcher reports changes to a site; see [New].
type Watcher struct {
	opts    Options
	dir     string
	only    map[string]bool // top-level names of Options.Only; nil for all
	skip    []string
	dbFile  string
	signals chan signal
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	fsw     *fsnotify.Watcher // nil when polling
	capture bool
}

type signal struct {
	file string // "" for rows
	rows bool
}

// New starts watching. It takes its first look before it returns, so a
// change made once New has returned is seen. Close stops it.
func New(ctx context.Context, opts Options) (*Watcher, error) {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{opts: opts, dir: dir, signals: make(chan signal, 256)}
	for _, s := range opts.Skip {
		if a, err := filepath.Abs(s); err == nil {
			w.skip = append(w.skip, a)
		}
	}
	for _, o := range opts.Only {
		if w.only == nil {
			w.only = map[string]bool{}
		}
		first, _, _ := strings.Cut(filepath.ToSlash(filepath.Clean(o)), "/")
		w.only[first] = true
	}
	if opts.DBFile != "" {
		w.dbFile, _ = filepath.Abs(opts.DBFile)
	}
	ctx, w.cancel = context.WithCancel(ctx)
	if !opts.Polling {
		if err := w.startEvents(ctx); err != nil {
			opts.Logger.Info("file events unavailable; polling for edits", "every", opts.Poll, "err", err)
			w.fsw = nil
		}
	}
	if w.fsw == nil {
		files := w.scan()
		w.wg.Go(func() { w.poll(ctx, files) })
	}
	if opts.DB != nil {
		rows, err := w.rowWatch(ctx)
		if err != nil {
			w.Close()
			return nil, err
		}
		w.wg.Go(rows)
	}
	return w, nil
}

// Capture reports whether rows are watched through change capture, which
// names each changed row to the build (see capture.Pending); without it a
// row change says only that some row changed.
func (w *Watcher) Capture() bool { return w.capture }

// Next blocks until something changed and returns what, once no further
// change came for Options.Debounce (or for at most 20 times that, in a
// stream of changes). It returns ctx.Err() when ctx is done first.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	files := map[string]bool{}
	var ev Event
	add := func(s signal) {
		if s.rows {
			ev.Rows = true
		} else {
			files[s.file] = true
		}
	}
	select {
	case <-ctx.Done():
		return Event{}, ctx.Err()
	case s := <-w.signals:
		add(s)
	}
	quiet := time.NewTimer(w.opts.Debounce)
	defer quiet.Stop()
	limit := time.After(20 * w.opts.Debounce)
collect:
	for {
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case s := <-w.signals:
			add(s)
			quiet.Reset(w.opts.Debounce)
		case <-quiet.C:
			break collect
		case <-limit:
			break collect
		}
	}
	for f := range files {
		ev.Files = append(ev.Files, f)
	}
	slices.Sort(ev.Files)
	return ev, nil
}

// Close stops watching.
func (w *Watcher) Close() error {
	w.cancel()
	var err error
	if w.fsw != nil {
		err = w.fsw.Close()
	}
	w.wg.Wait()
	return err
}

func (w *Watcher) send(ctx context.Context, s signal) {
	select {
	case w.signals <- s:
	case <-ctx.Done():
	default:
		// Full: Next has plenty to report already; a file dropped here is
		// found again by the build, which compares every input with its
		// index. Rows are never dropped.
		if s.rows {
			select {
			case w.signals <- s:
			case <-ctx.Done():
			}
		}
	}
}

// ignored reports whether the file or folder at abs is not watched.
func (w *Watcher) ignored(abs string, isDir bool) bool {
	if abs == w.dir {
		return false
	}
	name := filepath.Base(abs)
	if strings.HasPrefix(name, ".") && name != ".well-known" {
		return true
	}
	for _, s := range w.skip {
		if abs == s || strings.HasPrefix(abs, s+string(filepath.Separator)) {
			return true
		}
	}
	if w.only != nil {
		first, _, _ := strings.Cut(w.rel(abs), "/")
		if !w.only[first] {
			return true
		}
	}
	if isDir {
		return false
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal", ".seeding", "~", ".swp"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

func (w *Watcher) rel(abs string) string {
	r, err := filepath.Rel(w.dir, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(r)
}

// startEvents watches every folder under the site folder.
func (w *Watcher) startEvents(ctx context.Context) error {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	w.fsw = fsw
	if err := w.addTree(w.dir, nil); err != nil {
		fsw.Close()
		return err
	}
	w.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case err, ok := <-fsw.Errors:
				if !ok {
					return
				}
				// An overflow loses events: say something changed, and
				// the build compares every input with its index.
				w.opts.Logger.Warn("file events", "err", err)
				w.send(ctx, signal{file: "."})
			case e, ok := <-fsw.Events:
				if !ok {
					return
				}
				w.event(ctx, e)
			}
		}
	})
	return nil
}

func (w *Watcher) event(ctx context.Context, e fsnotify.Event) {
	if e.Op == fsnotify.Chmod {
		return
	}
	abs := filepath.Clean(e.Name)
	if abs == w.dbFile {
		if e.Has(fsnotify.Remove) || e.Has(fsnotify.Rename) || e.Has(fsnotify.Create) {
			w.send(ctx, signal{rows: true})
		}
		return
	}
	isDir := false
	if e.Has(fsnotify.Create) {
		if fi, err := os.Lstat(abs); err == nil && fi.IsDir() {
			isDir = true
		}
	}
	if w.ignored(abs, isDir) {
		return
	}
	if isDir {
		// A new folder: watch it, and count the files already in it
		// (created before its watch was added).
		w.addTree(abs, func(file string) { w.send(ctx, signal{file: w.rel(file)}) })
	}
	w.send(ctx, signal{file: w.rel(abs)})
}

// addTree watches dir and every folder under it; found, if set, is called
// for each file.
func (w *Watcher) addTree(dir string, found func(string)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if w.ignored(p, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return w.fsw.Add(p)
		}
		if found != nil {
			found(p)
		}
		return nil
	})
}

// scan returns the size and modification time of every watched file.
func (w *Watcher) scan() map[string]string {
	files := map[string]string{}
	filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if w.ignored(p, d.IsDir()) || p == w.dbFile {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				files[p] = fmt.Sprint(fi.Size(), " ", fi.ModTime().UnixNano())
			}
		}
		return nil
	})
	return files
}

// poll scans the files every Poll and reports what differs.
func (w *Watcher) poll(ctx context.Context, files map[string]string) {
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	db := w.statDB()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The database file counts when it is replaced (made again from
		// the seed), not when it is written: the row watch sees writes.
		if now := w.statDB(); (db == nil) != (now == nil) || db != nil && !os.SameFile(db, now) {
			w.send(ctx, signal{rows: true})
			db = now
		}
		now := w.scan()
		for p, v := range now {
			if files[p] != v {
				w.changed(ctx, p)
			}
		}
		for p := range files {
			if _, ok := now[p]; !ok {
				w.changed(ctx, p)
			}
		}
		files = now
	}
}

func (w *Watcher) changed(ctx context.Context, abs string) {
	w.send(ctx, signal{file: w.rel(abs)})
}

// statDB returns the database file's information, or nil.
func (w *Watcher) statDB() fs.FileInfo {
	if w.dbFile == "" {
		return nil
	}
	fi, err := os.Stat(w.dbFile)
	if err != nil {
		return nil
	}
	return fi
}

// rowWatch returns the loop that reports row changes.
func (w *Watcher) rowWatch(ctx context.Context) (func(), error) {
	db, dialect := w.opts.DB, w.opts.Dialect
	tables, err := capture.Installed(ctx, db, dialect)
	if err != nil {
		return nil, fmt.Errorf("watch rows: %w", err)
	}
	if len(tables) > 0 {
		w.capture = true
		last, err := lastChange(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("watch rows: %w", err)
		}
		return func() { w.captureLoop(ctx, last) }, nil
	}
	probe := "PRAGMA data_version"
	if dialect == capture.Postgres {
		probe = "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text FROM pg_stat_user_tables"
	}
	// One connection: PRAGMA data_version counts the commits of other
	// connections than the one asking.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch rows: %w", err)
	}
	version := func() (string, error) {
		var v string
		err := conn.QueryRowContext(ctx, probe).Scan(&v)
		return v, err
	}
	first, err := version()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("watch rows: %w", err)
	}
	file := w.statDB()
	return func() {
		defer func() { conn.Close() }()
		t := time.NewTicker(w.opts.Poll)
		defer t.Stop()
		last := first
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if now := w.statDB(); now != nil && (file == nil || !os.SameFile(file, now)) {
				// The file was replaced (made again from the seed): the
				// connection reads the old one. A new one reads the new.
				file = now
				conn.Raw(func(any) error { return driver.ErrBadConn })
				conn.Close()
				if conn, err = db.Conn(ctx); err != nil {
					return
				}
				last, _ = version()
				w.send(ctx, signal{rows: true})
				continue
			}
			v, err := version()
			if err != nil {
				if ctx.Err() == nil {
					w.opts.Logger.Debug("ask the database for changes", "err", err)
				}
				continue
			}
			if v != last {
				last = v
				w.send(ctx, signal{rows: true})
			}
		}
	}, nil
}

// captureLoop reports each new change that capture records.
func (w *Watcher) captureLoop(ctx context.Context, last int64) {
	backoff := w.opts.Poll
	for {
		err := capture.Wait(ctx, w.opts.DB, w.opts.Dialect, last, w.opts.Poll)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			var id int64
			if id, err = lastChange(ctx, w.opts.DB); err == nil {
				if id > last {
					last = id
					w.send(ctx, signal{rows: true})
				}
				backoff = w.opts.Poll
				continue
			}
		}
		// The database is busy or gone: try again, ever less often.
		w.opts.Logger.Warn("wait for row changes", "err", err, "retry", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// lastChange returns the ID of the newest change capture recorded (IDs
// keep growing after changes are consumed).
func lastChange(ctx context.Context, db *sql.DB) (int64, error) {
	var id int64
	err := db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM "+capture.Table).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return id, nil
}
