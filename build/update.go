package build

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// Explained says why an incremental build touched one page, and what it did.
type Explained struct {
	Path   string `json:"path"`
	Route  string `json:"route,omitempty"`
	Reason string `json:"reason"`
	// Action is "written" (new bytes), "unchanged" (rendered to the same
	// bytes: not written), "indexed" (same bytes, new deps) or "removed".
	Action string `json:"action"`
}

// Actions of [Explained].
const (
	ActionWritten   = "written"
	ActionUnchanged = "unchanged"
	ActionIndexed   = "indexed"
	ActionRemoved   = "removed"
	// actionSkipped: not rendered, its inputs had not changed ([bake.Page.Digest]).
	actionSkipped = "skipped"
)

// UpdateReport describes a finished incremental build.
type UpdateReport struct {
	Report
	Rendered  int         `json:"rendered"`  // pages rendered again
	Written   int         `json:"written"`   // files written (their bytes changed)
	Removed   int         `json:"removed"`   // pages removed
	Unchanged int         `json:"unchanged"` // pages rendered to the bytes they had
	Skipped   int         `json:"skipped"`   // pages not rendered: what they read had not changed
	Explain   []Explained `json:"explain,omitempty"`
	// Applied is what the update changed in the index: the entries put
	// (written, or indexed anew with the same bytes) and the paths
	// removed, and the values stored. Set once it is committed.
	Applied *output.Update `json:"-"`
}

// Update brings the build in opts.Output up to date with changes, rendering
// only the pages that site says they touch and writing only the files whose
// bytes changed. Every page is rendered before anything is written: when a
// page fails, the build folder is left as it was and the returned error
// wraps [ErrProblems]. When the folder has no index from an earlier build,
// or the site needs a full build, the error wraps [bake.ErrFullBuild].
//
// A crash at any point leaves each file whole; the caller applies the same
// changes again (it consumes them only after Update returns), and the
// index's trash finishes any removal that was cut short.
func Update(ctx context.Context, site bake.Updater, changes []bake.Change, opts Options) (*UpdateReport, error) {
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
	idx, err := output.OpenIndex(ctx, opts.Output)
	if err != nil {
		if errors.Is(err, output.ErrNoIndex) {
			return nil, fmt.Errorf("%w: %w", bake.ErrFullBuild, err)
		}
		return nil, err
	}
	var clean cleanups
	defer clean.run()
	clean.add(func() { idx.Close() })
	if err := checkFinish(ctx, idx, opts.Finish); err != nil {
		return nil, err
	}
	dir, err := output.OpenInPlace(opts.Output)
	if err != nil {
		return nil, err
	}
	clean.add(func() { dir.Close() })
	if dir.Pending() {
		idx.DistrustFiles()
	}
	siblings := siblingExts(opts.Finish)
	if err := emptyTrash(ctx, idx, dir, siblings); err != nil {
		return nil, err
	}
	// Mapped: an update reads fragments from all over the file (the items
	// of every list page it renders).
	ctx, closeFragments, err := withFragments(ctx, opts.Output, "", true, opts.Logger)
	if err != nil {
		return nil, err
	}
	clean.add(closeFragments)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		probs   problemList
		mu      sync.Mutex
		results []updated
		removed []*bake.Page
		full    error
	)
	probs.dir = opts.Output
	problem := probs.add
	// The index takes the pages written while the others render, in a
	// transaction committed once the files are (see applyWhileRendering).
	ap, err := idx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	toIndex, stopIndexing := applyWhileRendering(ctx, ap)
	clean.add(func() { stopIndexing(); ap.Rollback() })
	pages := make(chan *bake.Page, opts.Workers*4)
	var wg sync.WaitGroup
	minifier := newMinifier(opts.Finish)
	for range opts.Workers {
		w := &updateWorker{idx: idx, dir: dir, fin: newFinisher(opts.Finish, minifier)}
		wg.Go(func() {
			for p := range pages {
				if ctx.Err() != nil || probs.stopped() {
					continue
				}
				r, err := w.do(ctx, p)
				if err != nil {
					problem(p, err)
					continue
				}
				opts.Progress.Pages.Add(1)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.action != actionSkipped && r.action != ActionUnchanged {
					toIndex(output.Record{Entry: r.entry, Line: r.line})
				}
			}
		})
	}
	for p, err := range site.Update(ctx, idx, changes) {
		if err != nil {
			if errors.Is(err, bake.ErrFullBuild) {
				full = err
				break
			}
			problem(p, err)
			continue
		}
		if ctx.Err() != nil || probs.stopped() {
			break
		}
		if opts.Only != nil && !opts.Only(p.Path) {
			continue
		}
		if p.Remove {
			removed = append(removed, p)
			continue
		}
		select {
		case pages <- p:
		case <-ctx.Done(): // every worker may be stuck in a Render
		}
	}
	close(pages)
	produced := time.Since(start)
	if left := waitWorkers(ctx, &wg); left != nil {
		clean.after = left
		return nil, fmt.Errorf("build: %w (pages still rendering were abandoned)", ctx.Err())
	}
	rendered := time.Since(start)
	if full != nil {
		return nil, full
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}

	rep := &UpdateReport{Report: Report{Routes: map[string]*RouteReport{}}}
	slices.SortFunc(results, func(a, b updated) int { return cmp.Compare(a.entry.Path, b.entry.Path) })
	problems := append(probs.list, conflicts(results, removed)...)
	if len(problems) > 0 {
		sortProblems(problems)
		rep.Problems = problems
		rep.Duration = time.Since(start)
		rep.Seconds = rep.Duration.Seconds()
		return rep, fmt.Errorf("%w: %d problem(s); the build in %s is unchanged", ErrProblems, len(problems), opts.Output)
	}

	// Commit: files first, then the index (which records the removals in
	// its trash), then the removals. The folder is marked pending in
	// between: an update that finds the mark does not trust the last
	// build's files to be what its index says (no list page is spliced
	// from them). The files move while the index takes in the last pages
	// and the removals (output.Applier.Prepare); only its commit waits
	// for them.
	if err := dir.MarkPending(); err != nil {
		return nil, err
	}
	filesDone := make(chan error, 1)
	var committed time.Duration
	go func() {
		err := dir.Commit()
		// Siblings a rewritten file no longer has go before the index
		// forgets them (a crash in between leaves the old entry, and the
		// replayed changes write the file again).
		for _, r := range results {
			for _, name := range r.stale {
				if err == nil {
					err = dir.Remove(name)
				}
			}
		}
		committed = time.Since(start)
		filesDone <- err
	}()
	filesErr := func() error { // waits for the files once
		if filesDone == nil {
			return nil
		}
		err := <-filesDone
		filesDone = nil
		return err
	}
	defer filesErr() // no return leaves them moving
	var u output.Update
	made := map[string]bool{}
	for _, r := range results {
		made[r.entry.Path] = true
		if r.action == actionSkipped {
			rep.Skipped++
			continue
		}
		rep.Rendered++
		rr := rep.Routes[r.entry.Route]
		if rr == nil {
			rr = &RouteReport{}
			rep.Routes[r.entry.Route] = rr
		}
		rr.Pages++
		rr.Render += r.render
		switch r.action {
		case ActionWritten:
			rep.Written++
			rep.Pages++
			rep.Bytes += r.entry.Size
			rr.Bytes += r.entry.Size
		case ActionUnchanged:
			rep.Unchanged++
		}
		if r.action != ActionUnchanged {
			u.Put = append(u.Put, output.Record{Entry: r.entry, Line: r.line})
		}
		if opts.Explain {
			rep.Explain = append(rep.Explain, Explained{Path: r.entry.Path, Route: r.entry.Route, Reason: r.reason, Action: r.action})
		}
	}
	for _, p := range removed {
		if made[p.Path] {
			continue // removed by one route, made by another
		}
		u.Remove = append(u.Remove, p.Path)
		rep.Removed++
		if opts.Explain {
			rep.Explain = append(rep.Explain, Explained{Path: p.Path, Route: p.Route, Reason: p.Reason, Action: ActionRemoved})
		}
	}
	u.Values = withFinishValue(site.State(), opts.Finish)
	stopIndexing() // every page written is in the transaction
	if err := ap.Remove(ctx, u.Remove); err != nil {
		return nil, err
	}
	if err := ap.Prepare(ctx, u.Values); err != nil {
		return nil, errors.Join(filesErr(), err)
	}
	if err := filesErr(); err != nil {
		return nil, err
	}
	if err := ap.Commit(ctx, nil); err != nil { // the values are in
		return nil, err
	}
	if err := dir.ClearPending(); err != nil {
		return nil, err
	}
	if err := emptyTrash(ctx, idx, dir, siblings); err != nil {
		return nil, err
	}
	closeFragments()
	slices.SortFunc(rep.Explain, func(a, b Explained) int { return cmp.Compare(a.Path, b.Path) })
	rep.Applied = &u
	rep.Committed = true
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	opts.Logger.Debug("update committed", "rendered", rep.Rendered, "written", rep.Written, "removed", rep.Removed, "seconds", rep.Seconds,
		"produced", produced, "rendered_by", rendered, "files_committed_by", committed)
	return rep, nil
}

// applyWhileRendering puts into ap the records given to put, in batches of
// 256 (each batch reads the pages it replaces in one query), from its own
// goroutine: the index's writes (~100 ms for 1,900 pages)
// overlap the rendering rather than follow it. stop returns once every
// record put before it was called is in ap; a put after stop is dropped
// (pages still rendering when a build is abandoned). put may be called from
// any goroutine, stop more than once.
func applyWhileRendering(ctx context.Context, ap *output.Applier) (put func(output.Record), stop func()) {
	recs := make(chan output.Record, 512)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		batch := make([]output.Record, 0, 256)
		flush := func() {
			if len(batch) > 0 {
				ap.Put(ctx, batch) // an error is kept: Commit returns it
				batch = batch[:0]
			}
		}
		for {
			select {
			case r := <-recs:
				batch = append(batch, r)
				if len(batch) == cap(batch) {
					flush()
				}
			case <-quit:
				for {
					select {
					case r := <-recs: // put before stop
						batch = append(batch, r)
					default:
						flush()
						return
					}
				}
			}
		}
	}()
	put = func(r output.Record) {
		select {
		case recs <- r:
		case <-quit:
		}
	}
	stop = sync.OnceFunc(func() {
		close(quit)
		<-done
	})
	return put, stop
}

// emptyTrash deletes the files of pages removed from the index, and their
// siblings of extensions siblings.
func emptyTrash(ctx context.Context, idx *output.Index, dir *output.InPlace, siblings []string) error {
	trash, err := idx.Trash(ctx)
	if err != nil || len(trash) == 0 {
		return err
	}
	for _, p := range trash {
		name, err := bake.FileName(p)
		if err != nil {
			continue // never written
		}
		if err := dir.Remove(name); err != nil {
			return err
		}
		for _, ext := range siblings {
			if err := dir.Remove(name + ext); err != nil {
				return err
			}
		}
	}
	return idx.EmptyTrash(ctx, trash)
}

// conflicts finds pages that an update would put at a path another page
// has: two pages made at one path, or one made where a page of another row
// or route stays.
func conflicts(results []updated, removed []*bake.Page) []*bake.Error {
	var out []*bake.Error
	gone := map[string]bool{}
	for _, p := range removed {
		gone[p.Path] = true
	}
	dup := func(a, b *bake.Entry) { out = append(out, samePath(a, b)) }
	for i := range results {
		e := &results[i].entry
		if i > 0 && results[i-1].entry.Path == e.Path {
			dup(&results[i-1].entry, e)
			continue
		}
		if prev := results[i].prev; prev != nil && !gone[e.Path] && (prev.Route != e.Route || prev.Key != e.Key) {
			// The page there belongs to another row or route: fine only if
			// that one is being made again elsewhere or removed.
			if !madeElsewhere(prev, results) {
				dup(prev, e)
			}
		}
	}
	return out
}

// samePath is the problem of page b, made at the path of page a.
func samePath(a, b *bake.Entry) *bake.Error {
	return &bake.Error{Route: b.Route, Path: b.Path, Key: b.Key,
		Err: fmt.Errorf("two pages have this path: route %q row %q and route %q row %q; make the path pattern unique", a.Route, a.Key, b.Route, b.Key)}
}

// madeElsewhere reports whether the owner of prev was re-rendered in this
// update (so its page moved away from prev's path).
func madeElsewhere(prev *bake.Entry, results []updated) bool {
	for _, r := range results {
		if r.entry.Route == prev.Route && r.entry.Key == prev.Key && r.entry.Path != prev.Path {
			return true
		}
	}
	return false
}

// updated is one page rendered by an incremental build.
type updated struct {
	entry  bake.Entry
	prev   *bake.Entry // the entry at the same path before, if any
	line   []byte
	action string
	reason string
	render time.Duration
	stale  []string // siblings the file no longer has, to remove
}

type updateWorker struct {
	idx  *output.Index
	dir  *output.InPlace
	fin  *finisher
	buf  bytes.Buffer
	line entryLine
}

func (w *updateWorker) do(ctx context.Context, p *bake.Page) (updated, error) {
	name, err := bake.FileName(p.Path)
	if err == nil {
		err = w.fin.checkName(name)
	}
	if err != nil {
		return updated{}, err
	}
	start := time.Now()
	// The entry there before: read once, decoded only if the page is
	// rendered.
	prevLine, ok, err := w.idx.Line(ctx, p.Path)
	if err != nil {
		return updated{}, err
	}
	if ok && p.Digest != "" && output.LineDigest(prevLine) == p.Digest {
		// The digest covers path, route, key and all the page reads: the
		// same digest means the same file and entry.
		return updated{entry: bake.Entry{Path: p.Path, Route: p.Route, Key: p.Key}, action: actionSkipped, reason: p.Reason}, nil
	}
	w.buf.Reset()
	var tr bake.Tracker
	switch {
	case p.Source != "":
		err = readInto(&w.buf, p.Source)
	case p.Render != nil:
		err = p.Render(bake.WithTracker(ctx, &tr), &w.buf)
	default:
		err = errors.New("page has neither Render nor Source")
	}
	if err != nil {
		return updated{}, err
	}
	if err := ctx.Err(); err != nil {
		return updated{}, err // cancelled while rendering: Update may have returned
	}
	data, err := w.fin.bytes(p, w.buf.Bytes())
	if err != nil {
		return updated{}, err
	}
	sum := sha256.Sum256(data)
	deps := p.Deps
	if extra := tr.Deps(); len(extra) > 0 {
		deps = bake.SortDeps(append(slices.Clone(deps), extra...))
	}
	e := bake.Entry{Path: p.Path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Type: p.Type(),
		Route: p.Route, Key: p.Key, LastMod: p.LastMod, Redirect: p.Redirect, Deps: deps, Digest: p.Digest, Rows: w.fin.rows(p)}
	// With siblings, the entry lists them: the previous file's when the
	// bytes are the same, else those written now, with the file.
	var stale []string
	written := false
	if w.fin.precompressing() {
		var had struct {
			SHA256    string
			Encodings []string `json:"enc"`
		}
		if ok {
			if err := json.Unmarshal([]byte(prevLine), &had); err != nil {
				return updated{}, fmt.Errorf("read index: %s: %w", p.Path, err)
			}
		}
		if ok && had.SHA256 == e.SHA256 {
			e.Encodings = had.Encodings
		} else {
			if err := w.dir.WriteFile(name, data); err != nil {
				return updated{}, err
			}
			written = true
			if e.Encodings, err = w.fin.writeSiblings(w.dir, name, e.Type, data); err != nil {
				return updated{}, err
			}
			stale = staleSiblings(name, had.Encodings, e.Encodings)
		}
	}
	line, err := w.line.encode(&e) // as the full build writes it
	if err != nil {
		return updated{}, fmt.Errorf("encode manifest entry: %w", err)
	}
	r := updated{entry: e, line: bytes.Clone(bytes.TrimSuffix(line, []byte("\n"))), reason: p.Reason, render: time.Since(start), stale: stale}
	var prev bake.Entry
	same := false
	if ok {
		// Lines are written by one encoder: the same bytes are the same
		// entry. Otherwise only what the checks below read is decoded (a
		// list page's line is mostly its deps).
		if same = prevLine == string(r.line); same {
			prev = bake.Entry{Path: e.Path, SHA256: e.SHA256, Route: e.Route, Key: e.Key}
		} else if path, sha, route, key, ok := output.LineHead(prevLine); ok {
			prev = bake.Entry{Path: path, SHA256: sha, Route: route, Key: key}
		} else {
			var head struct{ Path, SHA256, Route, Key string }
			if err := json.Unmarshal([]byte(prevLine), &head); err != nil {
				return updated{}, fmt.Errorf("read index: %s: %w", p.Path, err)
			}
			prev = bake.Entry{Path: head.Path, SHA256: head.SHA256, Route: head.Route, Key: head.Key}
		}
		r.prev = &prev
	}
	switch {
	case same:
		r.action = ActionUnchanged
	case ok && prev.SHA256 == e.SHA256:
		r.action = ActionIndexed
	default:
		r.action = ActionWritten
		if !written {
			if err := w.dir.WriteFile(name, data); err != nil {
				return updated{}, err
			}
		}
	}
	if w.buf.Cap() > 4<<20 {
		w.buf = bytes.Buffer{}
	}
	return r, nil
}
