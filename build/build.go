// Package build is the engine: it renders the pages of a [bake.Site] in
// parallel into a new build folder, hashing each file as it is written,
// records a manifest of every file with its deps, and swaps the folder in
// only when every page succeeded.
package build

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// Options configure a build.
type Options struct {
	// Output is the build folder. If empty, "_site".
	Output string
	// Workers is the number of pages rendered at once. If zero, GOMAXPROCS.
	Workers int
	// Logger receives progress and debug logs. If nil, logs are discarded.
	Logger *slog.Logger
	// Progress, if set, is updated as pages are written.
	Progress *Progress
	// Explain makes [Update] list every page it rendered or removed, and why.
	Explain bool
	// RemoveReplaced, if set, is handed the folders a full build leaves to
	// remove once it is live (the build it replaced, and what earlier
	// builds left; see [output.Staging.Replaced]), so that the build can
	// return without removing them (the command line hands them to a
	// process of their own). If nil, or if it fails, [Build] removes them
	// before it returns.
	RemoveReplaced func(paths []string) error
	// Finish is what is done to each page once rendered: HTML
	// minification, precompressed siblings. If zero, nothing.
	Finish FinishOptions
	// Only, if set, limits [Update] to the pages at the paths it accepts:
	// the others it neither renders, writes nor removes, as if the site
	// had not named them. The workers of a distributed build each take
	// a share of an update's paths this way.
	Only func(path string) bool
}

// Progress counts the work of a running build; read it from any goroutine.
type Progress struct {
	Pages atomic.Int64 // pages written
	Bytes atomic.Int64 // bytes written
	// Live is set once a full build is swapped in, while the build it
	// replaced is removed (on a slow disk, as long as the build took).
	Live atomic.Bool
}

// Report describes a finished build.
type Report struct {
	Pages    int                     `json:"pages"`
	Bytes    int64                   `json:"bytes"`
	Duration time.Duration           `json:"-"`
	Seconds  float64                 `json:"seconds"`
	Routes   map[string]*RouteReport `json:"routes"`
	Slowest  []PageTime              `json:"slowest"`
	Problems []*bake.Error           `json:"-"`
	// Committed reports whether the new build replaced the build folder.
	Committed bool `json:"committed"`
	// CleanupSeconds is the time spent after the swap removing the
	// previous build (Seconds ends at the swap).
	CleanupSeconds float64 `json:"cleanup_seconds"`
	// RemovingInBackground is set when the folders left to remove were
	// handed to Options.RemoveReplaced, which may still be removing them.
	RemovingInBackground bool `json:"removing_in_background"`
}

// RouteReport is the work of one route.
type RouteReport struct {
	Pages  int           `json:"pages"`
	Bytes  int64         `json:"bytes"`
	Render time.Duration `json:"render_ns"` // summed over pages
}

// PageTime is the render time of one page.
type PageTime struct {
	Path     string        `json:"path"`
	Route    string        `json:"route"`
	Duration time.Duration `json:"ns"`
}

// ErrProblems is returned (wrapped) when pages failed; the report lists them
// and the previous build folder is left untouched.
var ErrProblems = errors.New("build has problems")

// Build renders every page of site into a new build folder and swaps it in
// atomically when all pages succeed. When some fail, it still renders the
// rest, returns a report listing every problem and an error wrapping
// [ErrProblems], and leaves the previous build as it was.
func Build(ctx context.Context, site bake.Site, opts Options) (*Report, error) {
	if opts.Output == "" {
		opts.Output = "_site"
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	start := time.Now()
	stage, err := output.Begin(opts.Output)
	if err != nil {
		return nil, err
	}
	var clean cleanups
	defer clean.run()
	committed := false
	clean.add(func() {
		if !committed {
			stage.Abort()
		}
	})
	idx, err := newIndex(ctx, stage)
	if err != nil {
		return nil, err
	}
	clean.add(idx.abort)
	// The new build's fragment cache starts from the old build's.
	ctx, closeFragments, err := withFragments(ctx, stage.Dir(), opts.Output, false, opts.Logger)
	if err != nil {
		return nil, err
	}
	clean.add(closeFragments)
	// The site may keep some of the replaced build's values (the pages of
	// a stable list): give it that build's index, unless the caller did.
	if bake.PreviousFrom(ctx) == nil {
		if prev, err := output.OpenIndex(ctx, opts.Output); err == nil {
			clean.add(func() { prev.Close() })
			ctx = bake.WithPrevious(ctx, prev)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	probs := problemList{dir: opts.Output}
	problem := probs.add

	pages := make(chan *bake.Page, opts.Workers*4)
	workers := make([]*worker, opts.Workers)
	var wg sync.WaitGroup
	minifier := newMinifier(opts.Finish)
	for i := range workers {
		w := &worker{stage: stage, idx: idx, progress: opts.Progress, routes: map[string]*RouteReport{}, problem: problem, fin: newFinisher(opts.Finish, minifier)}
		workers[i] = w
		wg.Go(func() {
			for p := range pages {
				if ctx.Err() != nil || probs.stopped() {
					continue
				}
				w.do(ctx, p)
			}
		})
	}
	for p, err := range site.Pages(ctx) {
		if err != nil {
			problem(p, err)
			continue
		}
		if ctx.Err() != nil || probs.stopped() {
			break
		}
		select {
		case pages <- p:
		case <-ctx.Done(): // every worker may be stuck in a Render
		}
	}
	close(pages)
	if left := waitWorkers(ctx, &wg); left != nil {
		clean.after = left
		return nil, fmt.Errorf("build: %w (pages still rendering were abandoned)", ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	renderDone := time.Since(start)

	rep := &Report{Routes: map[string]*RouteReport{}}
	for _, w := range workers {
		for name, r := range w.routes {
			agg := rep.Routes[name]
			if agg == nil {
				agg = &RouteReport{}
				rep.Routes[name] = agg
			}
			agg.Pages += r.Pages
			agg.Bytes += r.Bytes
			agg.Render += r.Render
			rep.Pages += r.Pages
			rep.Bytes += r.Bytes
		}
		rep.Slowest = append(rep.Slowest, w.slowest...)
	}
	slices.SortFunc(rep.Slowest, func(a, b PageTime) int { return cmp.Compare(b.Duration, a.Duration) })
	rep.Slowest = rep.Slowest[:min(len(rep.Slowest), slowestKept)]

	manifestStart := time.Now()
	var values map[string]string
	if u, ok := site.(bake.Updater); ok {
		values = u.State()
	}
	values = withFinishValue(values, opts.Finish)
	dups, err := idx.commit(ctx, len(probs.list) == 0, values)
	if err != nil && !probs.addDisk(err) {
		return nil, err
	}
	problems := append(probs.list, dups...)
	rep.Problems = problems
	sortProblems(rep.Problems)
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	if len(problems) > 0 {
		noun := "problems"
		if len(problems) == 1 {
			noun = "problem"
		}
		if _, err := os.Stat(opts.Output); err != nil {
			return rep, fmt.Errorf("%w: %d %s; nothing was written to %s", ErrProblems, len(problems), noun, opts.Output)
		}
		return rep, fmt.Errorf("%w: %d %s; the previous build in %s is unchanged", ErrProblems, len(problems), noun, opts.Output)
	}
	opts.Logger.Debug("build rendered", "pages", rep.Pages, "render_seconds", renderDone.Seconds(), "manifest_seconds", time.Since(manifestStart).Seconds(),
		"index_wait_seconds", time.Duration(idx.waited.Load()).Seconds())
	closeFragments()
	swapStart := time.Now()
	if err := stage.Commit(); err != nil {
		return nil, err
	}
	opts.Logger.Debug("build swapped in", "seconds", time.Since(swapStart).Seconds())
	committed = true
	opts.Progress.Live.Store(true)
	rep.Committed = true
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	// The new build is live; now remove the one it replaced (and wait for
	// the removal of older leftovers, started in the background by Begin),
	// unless the caller has it done elsewhere.
	if left := stage.Replaced(); opts.RemoveReplaced != nil && handOver(opts, left) {
		rep.RemovingInBackground = len(left) > 0
	} else {
		stage.Wait()
		if err := stage.RemoveOld(); err != nil {
			opts.Logger.Warn("previous build not removed; the next build will retry", "err", err)
		}
	}
	rep.CleanupSeconds = time.Since(start).Seconds() - rep.Seconds
	opts.Logger.Debug("build committed", "pages", rep.Pages, "bytes", rep.Bytes, "seconds", rep.Seconds)
	return rep, nil
}

// handOver passes the folders left to remove to opts.RemoveReplaced and
// reports whether it took them.
func handOver(opts Options, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	if err := opts.RemoveReplaced(paths); err != nil {
		opts.Logger.Warn("removing the previous build here: could not hand it over", "err", err)
		return false
	}
	return true
}

// problemList collects the problems of a build from every worker. A write
// that failed because the disk is full (or over quota, or read-only) would
// fail again on every later page: the first is one problem about the disk,
// the others are dropped, and the build stops.
type problemList struct {
	mu   sync.Mutex
	list []*bake.Error
	dir  string      // the build folder, named by a problem of its disk
	disk atomic.Bool // a write failed for want of a writable disk
}

// add records err as a problem of page p (nil when no page is known),
// filling in the route, path and key the error does not name.
func (l *problemList) add(p *bake.Page, err error) {
	if l.addDisk(err) {
		return
	}
	var be *bake.Error
	if !errors.As(err, &be) {
		be = &bake.Error{Err: err}
	}
	if p != nil {
		be.Route = cmp.Or(be.Route, p.Route)
		be.Path = cmp.Or(be.Path, p.Path)
		be.Key = cmp.Or(be.Key, p.Key)
	}
	l.mu.Lock()
	l.list = append(l.list, be)
	l.mu.Unlock()
}

// addDisk reports whether err is the failure of a disk that takes no more
// writes (full, over quota, read-only), recording the first such error as
// the build's problem of the disk.
func (l *problemList) addDisk(err error) bool {
	var msg string
	switch {
	case errors.Is(err, syscall.ENOSPC):
		msg = "the disk holding %s is full (%w): free some space on it, or build to a folder on another disk, then build again; the build stopped at its first failed write"
	case errors.Is(err, syscall.EDQUOT):
		msg = "the disk quota for %s is used up (%w): free some space, or build to a folder outside the quota, then build again; the build stopped at its first failed write"
	case errors.Is(err, syscall.EROFS):
		msg = "%s is on a read-only file system (%w): make it writable, or build to another folder, then build again; the build stopped at its first failed write"
	default:
		return false
	}
	if !l.disk.Swap(true) {
		l.mu.Lock()
		l.list = append(l.list, &bake.Error{Err: fmt.Errorf(msg, l.dir, err)})
		l.mu.Unlock()
	}
	return true
}

// stopped reports whether the build should render no more pages: a write
// failed for want of a writable disk, and every other would too.
func (l *problemList) stopped() bool { return l.disk.Load() }

func sortProblems(ps []*bake.Error) {
	slices.SortStableFunc(ps, func(a, b *bake.Error) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Key, b.Key))
	})
}

const slowestKept = 10

// fileWriter writes a page's file in the build folder, as
// [output.Staging.WriteFile] does.
type fileWriter interface {
	WriteFile(name string, data []byte) error
}

// worker renders pages with reused buffers.
type worker struct {
	stage    fileWriter
	idx      *index
	progress *Progress
	routes   map[string]*RouteReport
	slowest  []PageTime
	problem  func(*bake.Page, error)
	fin      *finisher
	buf      bytes.Buffer
	line     entryLine
}

func (w *worker) do(ctx context.Context, p *bake.Page) {
	name, err := bake.FileName(p.Path)
	if err == nil {
		err = w.fin.checkName(name)
	}
	if err != nil {
		w.problem(p, err)
		return
	}
	start := time.Now()
	w.buf.Reset()
	var tr bake.Tracker
	if p.Source != "" {
		err = readInto(&w.buf, p.Source)
	} else if p.Render != nil {
		err = p.Render(bake.WithTracker(ctx, &tr), &w.buf)
	} else {
		err = errors.New("page has neither Render nor Source")
	}
	if err != nil {
		w.problem(p, err)
		return
	}
	if ctx.Err() != nil {
		return // cancelled while rendering: the build may have returned
	}
	data, err := w.fin.bytes(p, w.buf.Bytes())
	if err != nil {
		w.problem(p, err)
		return
	}
	sum := sha256.Sum256(data)
	if err := w.stage.WriteFile(name, data); err != nil {
		w.problem(p, err)
		return
	}
	codings, err := w.fin.writeSiblings(w.stage, name, p.Type(), data)
	if err != nil {
		w.problem(p, err)
		return
	}
	elapsed := time.Since(start)
	deps := p.Deps
	if extra := tr.Deps(); len(extra) > 0 {
		deps = bake.SortDeps(append(slices.Clone(deps), extra...))
	}
	e := bake.Entry{Path: p.Path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Type: p.Type(),
		Route: p.Route, Key: p.Key, LastMod: p.LastMod, Redirect: p.Redirect, Encodings: codings, Deps: deps, Digest: p.Digest, Rows: w.fin.rows(p)}
	line, err := w.line.encode(&e)
	if err != nil {
		w.problem(p, fmt.Errorf("encode manifest entry: %w", err))
		return
	}
	w.idx.add(&e, line)
	r := w.routes[p.Route]
	if r == nil {
		r = &RouteReport{}
		w.routes[p.Route] = r
	}
	r.Pages++
	r.Bytes += int64(len(data))
	r.Render += elapsed
	w.progress.Pages.Add(1)
	w.progress.Bytes.Add(int64(len(data)))
	w.noteTime(PageTime{Path: p.Path, Route: p.Route, Duration: elapsed})
	if w.buf.Cap() > 4<<20 {
		w.buf = bytes.Buffer{} // do not keep a huge buffer for every later page
	}
}

func (w *worker) noteTime(pt PageTime) {
	if len(w.slowest) < slowestKept {
		w.slowest = append(w.slowest, pt)
		return
	}
	i := slices.IndexFunc(w.slowest, func(x PageTime) bool { return x.Duration < pt.Duration })
	if i < 0 {
		return
	}
	m := 0
	for j := range w.slowest {
		if w.slowest[j].Duration < w.slowest[m].Duration {
			m = j
		}
	}
	w.slowest[m] = pt
}

func readInto(buf *bytes.Buffer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	if _, err := buf.ReadFrom(f); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// index writes the index of the new build while its pages render: each
// entry goes to SQLite on a goroutine of its own as soon as its page is
// written, so that the index costs no time after the last page (it took
// about a sixth of a full build when written at the end) and no entry is
// held in memory.
type index struct {
	iw   *output.IndexWriter
	recs chan indexRec // closed by commit, once no worker sends
	stop chan struct{} // closed by abort: the writer and senders give up
	done chan struct{} // closed when the writer goroutine ends
	// Set by the goroutine, read after done is closed:
	err  error                   // the first failed write
	dups map[string][]bake.Entry // paths written more than once: every page at each

	closeRecs, closeStop sync.Once

	waited atomic.Int64 // nanoseconds workers spent waiting for the writer
}

type indexRec struct {
	e    bake.Entry
	line []byte // the manifest line, without its newline
}

func newIndex(ctx context.Context, stage *output.Staging) (*index, error) {
	name, err := stage.IndexPath()
	if err != nil {
		return nil, err
	}
	iw, err := output.NewIndexWriter(ctx, name)
	if err != nil {
		return nil, err
	}
	x := &index{iw: iw, recs: make(chan indexRec, 256), stop: make(chan struct{}), done: make(chan struct{})}
	go x.run(ctx)
	return x, nil
}

func (x *index) run(ctx context.Context) {
	defer close(x.done)
	for {
		var r indexRec
		select {
		case <-x.stop:
			return
		case rec, ok := <-x.recs:
			if !ok {
				return
			}
			r = rec
		}
		if x.err != nil {
			continue // drain: the workers do not wait for the writer
		}
		err := x.iw.Add(ctx, &r.e, r.line)
		var dup *output.DuplicatePathError
		switch {
		case errors.As(err, &dup):
			if x.dups == nil {
				x.dups = map[string][]bake.Entry{}
			}
			if len(x.dups[dup.Path]) == 0 {
				x.dups[dup.Path] = []bake.Entry{{Path: dup.Path, Route: dup.Route, Key: dup.Key}}
			}
			x.dups[dup.Path] = append(x.dups[dup.Path], bake.Entry{Path: dup.Path, Route: r.e.Route, Key: r.e.Key})
		case err != nil:
			x.err = err
		}
	}
}

// add queues the entry of a written page; line is its manifest line, with
// its newline. Both are copied.
func (x *index) add(e *bake.Entry, line []byte) {
	r := indexRec{e: *e, line: bytes.Clone(bytes.TrimSuffix(line, []byte("\n")))}
	r.e.Deps = slices.Clone(e.Deps)
	select {
	case x.recs <- r:
	default:
		// The writer is behind: count how long the workers wait for it.
		start := time.Now()
		select {
		case x.recs <- r:
		case <-x.stop:
		}
		x.waited.Add(int64(time.Since(start)))
	}
}

// wait waits until the entries queued are written; the caller has made
// sure that no more are added.
func (x *index) wait() {
	x.closeRecs.Do(func() { close(x.recs) })
	<-x.done
}

// abort throws the index away, unless committed. Workers may still be
// adding entries (a panic left Build): they are dropped.
func (x *index) abort() {
	x.closeStop.Do(func() { close(x.stop) })
	<-x.done
	if x.iw != nil {
		x.iw.Abort()
	}
}

// commit waits for the queued entries and, when store is true, commits the
// index with the site's values. Two pages with one path are returned as
// problems (the index is then not committed).
func (x *index) commit(ctx context.Context, store bool, values map[string]string) ([]*bake.Error, error) {
	x.wait()
	if x.err != nil {
		return nil, x.err
	}
	if len(x.dups) > 0 {
		var dups []*bake.Error
		for _, p := range slices.Sorted(maps.Keys(x.dups)) {
			// Name every page at the path, in a stable order (workers
			// finish in any order).
			run := x.dups[p]
			slices.SortFunc(run, func(a, b bake.Entry) int {
				return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Key, b.Key))
			})
			for i := range run[1:] {
				dups = append(dups, samePath(&run[0], &run[i+1]))
			}
		}
		return dups, nil
	}
	if !store {
		return nil, nil
	}
	iw := x.iw
	x.iw = nil
	return nil, iw.Commit(ctx, values)
}

// withFragments opens the fragment cache of the build folder dir (reading
// prevDir's too, if not empty; mapping its file when mapped, see
// [output.Fragments.Map]) and returns ctx carrying it, and a func that
// saves and closes it, once. The cache only saves work: an error saving it
// is logged, not returned.
func withFragments(ctx context.Context, dir, prevDir string, mapped bool, log *slog.Logger) (context.Context, func(), error) {
	frags, err := output.OpenFragments(ctx, dir, prevDir)
	if err != nil {
		return ctx, nil, err
	}
	if mapped {
		frags.Map()
	}
	var once sync.Once
	return bake.WithFragmentCache(ctx, frags), func() {
		once.Do(func() {
			if err := frags.Close(); err != nil {
				log.Warn("fragment cache not saved; the next build renders its fragments again", "err", err)
			}
		})
	}, nil
}
