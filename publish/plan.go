package publish

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake"
)

// Reasons an object is uploaded.
const (
	ReasonNew     = "new"     // not in the remote manifest
	ReasonChanged = "changed" // other bytes
	ReasonType    = "type"    // same bytes, other content type or redirect
	ReasonHeaders = "headers" // same bytes, other Cache-Control (the rules changed)
	// ReasonSiblings: same bytes, other precompressed siblings (the
	// build's [build] precompress changed): a folder gets the siblings,
	// a bucket the stored compressed bytes.
	ReasonSiblings = "siblings"
)

// Change is one upload or delete of a plan.
type Change struct {
	Key    string     `json:"key"`              // object key, before any bucket prefix
	Entry  bake.Entry `json:"-"`                // the local entry (uploads) or the remote one (deletes)
	Reason string     `json:"reason,omitempty"` // why it is uploaded
	// Had lists the codings of the precompressed siblings the object had
	// (the remote entry's Encodings), for an upload over a published
	// one: a folder target deletes those the new file does not have.
	Had []string `json:"-"`
}

// Plan is what a publish does, in order: Assets, then Pages, then the new
// remote manifest, then Deletes.
type Plan struct {
	Assets  Changes  `json:"assets"`  // uploads of everything but HTML pages
	Pages   Changes  `json:"pages"`   // uploads of HTML pages, after the assets they may use
	Deletes []Change `json:"deletes"` // keys bake published before that the build no longer has
	// Retained are the fingerprinted files the build no longer has that
	// stay in the target (see RetainedKey), until bake prune.
	Retained  []Change `json:"retained,omitempty"`
	Unchanged int      `json:"unchanged"`
	Bytes     int64    `json:"bytes"` // bytes to upload, before compression

	// root is the manifest the publish stores when it is done, and parts
	// the parts of it the target does not have yet.
	root  *Root
	parts []partData
	// generation is the generation of the build's index the plan was made
	// from: Apply checks it has not changed before it stores the manifest
	// ("" when the plan did not come from a build).
	generation string
	// partCache keeps the parts stored (DiffOptions.PartCache), and
	// memory their lines (DiffOptions.Memory).
	partCache partCache
	memory    *PartMemory
	// retained is the target's list of retained files before this
	// publish, and hasRetained says it was read (the plan stores the
	// list with its manifest then).
	retained    []retained
	hasRetained bool
	// reads counts what making the plan read.
	reads planReads
}

// Uploads returns the number of objects to upload.
func (p *Plan) Uploads() int { return p.Assets.Len() + p.Pages.Len() }

// PartsKept reports whether the plan holds every manifest part it stores
// (see DiffOptions.KeepPartBytes): Apply then reads nothing from the build
// folder but the files, and may take them from another Source
// (ApplyOptions.From), a copy made while the build could not change.
func (p *Plan) PartsKept() bool {
	for _, pd := range p.parts {
		if pd.data == nil && pd.mem == nil {
			return false
		}
	}
	return true
}

// UploadList yields the uploads in order: assets, then pages.
func (p *Plan) UploadList() iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		for _, list := range []*Changes{&p.Assets, &p.Pages} {
			for c, err := range list.All() {
				if !yield(c, err) || err != nil {
					return
				}
			}
		}
	}
}

// Close releases what a large plan keeps in temporary files.
func (p *Plan) Close() error {
	return errors.Join(p.Assets.close(), p.Pages.close())
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return p.Uploads() == 0 && len(p.Deletes) == 0 }

// DiffOptions limit what a plan may delete.
type DiffOptions struct {
	// MaxDeletes is the most deletes a plan may have. If zero, 256; if
	// negative, no limit.
	MaxDeletes int
	// MaxDeletePercent, if above zero, also limits deletes to this share
	// of the objects published before.
	MaxDeletePercent float64
	// Force allows any number of deletes.
	Force bool
	// Pending are keys an interrupted publish meant to delete (see
	// PendingDeletes); those the build does not have are deleted now.
	Pending []string
	// Headers, if set, reports whether an object that is otherwise
	// unchanged gets other headers than at the last publish (its
	// Cache-Control rule changed); such objects are uploaded again.
	Headers func(key string, e bake.Entry) bool
	// KeepUploads is how many uploads a plan keeps in memory; the rest go
	// to a temporary file, so that the plan of a first publish of a
	// million files takes megabytes, not the gigabyte its entries would.
	// If zero, 4096.
	KeepUploads int
	// KeepPartBytes is how many bytes of compressed manifest parts a plan
	// keeps in memory; past it, parts are read again from the build when
	// they are stored. If zero, 8 MiB; if negative, none are kept.
	KeepPartBytes int
	// DeleteFingerprinted deletes the fingerprinted files a build no
	// longer has (css/app.3f2a1c9b.css) at once. By default they stay in
	// the target, for the pages cached before the publish that link them,
	// and bake prune removes them once no kept release has them.
	DeleteFingerprinted bool
	// PartCache, if set, is a folder that keeps a copy of the manifest
	// parts of the last publish to the target, so that the next one reads
	// the parts it compares from there instead of the bucket (bake keeps
	// one per target in the site's .bake/parts/). Parts are named by
	// content: a copy the bucket's manifest no longer names is unused,
	// and removed when the next manifest is stored.
	PartCache string
	// Memory, if set, keeps the lines of the parts a publish stores in
	// memory for the next publish to the same target (see PartMemory):
	// bake run keeps one per target.
	Memory *PartMemory
}

func (o *DiffOptions) defaults() {
	if o.MaxDeletes == 0 {
		o.MaxDeletes = 256
	}
	if o.KeepUploads <= 0 {
		o.KeepUploads = 4096
	}
	switch {
	case o.KeepPartBytes == 0:
		o.KeepPartBytes = 8 << 20
	case o.KeepPartBytes < 0:
		o.KeepPartBytes = 0
	}
}

// ErrTooManyDeletes is returned (wrapped) when a plan would delete more
// than the options allow.
var ErrTooManyDeletes = errors.New("too many deletes")

// Diff compares the local build's manifest with the remote one (the
// manifest bake stored in the bucket at the last publish; nil when there is
// none) and returns the plan that makes the bucket hold the build. Both
// must yield entries sorted by path, as manifests are written; neither is
// held in memory, only the changes.
func Diff(local, remote iter.Seq2[bake.Entry, error], opts DiffOptions) (*Plan, error) {
	d := newDiffer(opts)
	if err := d.entries(local, remote); err != nil {
		return nil, err
	}
	return d.plan, d.finish()
}

// differ makes a plan from the differences of one or more pairs of
// manifest streams (a publish compares its manifest part by part).
type differ struct {
	plan        *Plan
	opts        DiffOptions
	remoteCount int             // objects published before, for the delete limits
	pending     map[string]bool // paths of pending deletes not seen in either manifest yet
}

func newDiffer(opts DiffOptions) *differ {
	opts.defaults()
	d := &differ{plan: &Plan{Assets: Changes{spillAt: opts.KeepUploads}, Pages: Changes{spillAt: opts.KeepUploads}}, opts: opts, pending: map[string]bool{}}
	for _, k := range opts.Pending {
		d.pending[bake.PathOf(k)] = true
	}
	return d
}

// seen records that path is in a manifest: a pending delete of it is
// decided by the diff, not by finish.
func (d *differ) seen(path string) {
	if len(d.pending) > 0 {
		delete(d.pending, path)
	}
}

// unchanged counts n objects found unchanged without being read.
func (d *differ) unchanged(n int) {
	d.plan.Unchanged += n
	d.remoteCount += n
}

// entries merges two entry streams sorted by path into the plan.
func (d *differ) entries(local, remote iter.Seq2[bake.Entry, error]) error {
	if remote == nil {
		remote = func(func(bake.Entry, error) bool) {}
	}
	plan, opts := d.plan, d.opts
	nextL, stopL := iter.Pull2(local)
	defer stopL()
	nextR, stopR := iter.Pull2(remote)
	defer stopR()
	l, errL, okL := nextL()
	r, errR, okR := nextR()
	for okL || okR {
		if errL != nil {
			return fmt.Errorf("diff: local manifest: %w", errL)
		}
		if errR != nil {
			return fmt.Errorf("diff: remote manifest: %w", errR)
		}
		if okL {
			d.seen(l.Path)
		}
		if okR {
			d.seen(r.Path) // a remote entry is deleted, or kept, below
		}
		switch {
		case okL && (!okR || l.Path < r.Path):
			if err := plan.upload(l, ReasonNew, nil); err != nil {
				return err
			}
			l, errL, okL = nextL()
		case okR && (!okL || r.Path < l.Path):
			key, err := bake.FileName(r.Path)
			if err != nil {
				return fmt.Errorf("diff: remote manifest: %w", err)
			}
			r.Deps = nil
			if !opts.DeleteFingerprinted && retainable(key, r) {
				plan.Retained = append(plan.Retained, Change{Key: key, Entry: r})
			} else {
				plan.Deletes = append(plan.Deletes, Change{Key: key, Entry: r})
			}
			d.remoteCount++
			r, errR, okR = nextR()
		default: // same path
			switch {
			case l.SHA256 != r.SHA256:
				if err := plan.upload(l, ReasonChanged, r.Encodings); err != nil {
					return err
				}
			case r.Type != "" && (l.Type != r.Type || l.Redirect != r.Redirect): // an empty type: unknown (a listed object without bake's metadata)
				if err := plan.upload(l, ReasonType, r.Encodings); err != nil {
					return err
				}
			case opts.Headers != nil && headersChanged(l, opts.Headers):
				if err := plan.upload(l, ReasonHeaders, r.Encodings); err != nil {
					return err
				}
			case r.Type != "" && !slices.Equal(l.Encodings, r.Encodings):
				if err := plan.upload(l, ReasonSiblings, r.Encodings); err != nil {
					return err
				}
			default:
				plan.Unchanged++
			}
			d.remoteCount++
			l, errL, okL = nextL()
			r, errR, okR = nextR()
		}
	}
	return nil
}

// finish adds the pending deletes of paths neither manifest has and
// enforces the delete limits; the plan is complete, and returned with an
// error wrapping ErrTooManyDeletes when it deletes too much.
func (d *differ) finish() error {
	for _, k := range d.opts.Pending {
		if p := bake.PathOf(k); d.pending[p] {
			// bake's own: a publish meant to delete it.
			d.plan.Deletes = append(d.plan.Deletes, Change{Key: k, Entry: bake.Entry{Path: p, Route: "bake"}})
			delete(d.pending, p)
		}
	}
	return checkDeletes(d.plan, d.remoteCount, d.opts)
}

func headersChanged(e bake.Entry, changed func(string, bake.Entry) bool) bool {
	key, err := bake.FileName(e.Path)
	return err == nil && changed(key, e)
}

// checkDeletes enforces the delete limits of opts on plan, where remoteCount
// objects were published before.
func checkDeletes(plan *Plan, remoteCount int, opts DiffOptions) error {
	n := len(plan.Deletes)
	if n == 0 || opts.Force {
		return nil
	}
	if opts.MaxDeletes == 0 {
		opts.MaxDeletes = 256
	}
	limit := opts.MaxDeletes
	if limit < 0 {
		limit = math.MaxInt
	}
	if opts.MaxDeletePercent > 0 {
		limit = min(limit, int(float64(remoteCount)*opts.MaxDeletePercent/100))
	}
	if n > limit {
		return fmt.Errorf("%w: the plan deletes %d of the %d objects published before, more than the limit of %d; check the build, then publish with --force (or raise max_deletes)", ErrTooManyDeletes, n, remoteCount, limit)
	}
	return nil
}

func (p *Plan) upload(e bake.Entry, reason string, had []string) error {
	// An upload needs the path, hash, size, type and redirect: the rest
	// would be most of the memory of a plan of a million uploads.
	e.Deps, e.Route, e.Key, e.Digest, e.LastMod = nil, "", "", "", time.Time{}
	key, err := bake.FileName(e.Path)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	c := Change{Key: key, Entry: e, Reason: reason, Had: had}
	p.Bytes += e.Size
	if bake.IsHTML(e.Type) {
		return p.Pages.add(c)
	}
	return p.Assets.add(c)
}

// Summary describes a plan in one line.
func (p *Plan) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d uploads (%d assets, %d pages, %d bytes), %d deletes, %d unchanged",
		p.Uploads(), p.Assets.Len(), p.Pages.Len(), p.Bytes, len(p.Deletes), p.Unchanged)
	if len(p.Retained) > 0 {
		fmt.Fprintf(&b, ", %d fingerprinted kept for cached pages", len(p.Retained))
	}
	return b.String()
}
