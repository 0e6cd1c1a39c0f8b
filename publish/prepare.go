package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"gocloud.dev/blob"
)

// Prepare works out what publishing the build folder dir to bucket takes:
// it diffs the build's manifest (streamed from the build's index) against
// the remote one (streamed), adds the deletes an interrupted publish left
// pending, and reports whether that publish must be resumed (pass it as
// ApplyOptions.Resume). A plan that exceeds the delete limits is returned
// with an error wrapping ErrTooManyDeletes, so that it can still be shown.
func Prepare(ctx context.Context, bucket *blob.Bucket, dir string, opts DiffOptions) (plan *Plan, resume bool, err error) {
	return prepare(ctx, bucket, dir, opts, false)
}

// PrepareVerify is Prepare against what the bucket really holds (see
// Verify), for bake publish --verify.
func PrepareVerify(ctx context.Context, bucket *blob.Bucket, dir string, opts DiffOptions) (plan *Plan, resume bool, err error) {
	return prepare(ctx, bucket, dir, opts, true)
}

func prepare(ctx context.Context, bucket *blob.Bucket, dir string, opts DiffOptions, verify bool) (plan *Plan, resume bool, err error) {
	local, err := output.OpenIndex(ctx, dir)
	if err != nil {
		if errors.Is(err, output.ErrNoIndex) {
			return nil, false, fmt.Errorf("publish: no build in %s (%w); run bake build first", dir, err)
		}
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	defer local.Close()
	sums, gen, err := local.Buckets(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	root, err := ReadRoot(ctx, bucket)
	if err != nil {
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	pending, err := PendingDeletes(ctx, bucket)
	if errors.Is(err, ErrDeletesUnreadable) {
		verify, err = true, nil // the listing finds what was to be deleted
	}
	if err != nil {
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	opts.Pending = append(opts.Pending, pending...)
	files := 0
	for _, s := range sums {
		files += s.Files
	}
	ranges := layout(partsFor(files, root))
	if verify || root == nil {
		// No record of what bake published: look at what is there.
		plan, err = verifyParts(ctx, bucket, indexSide{local, sums}, ranges, opts)
	} else {
		plan, err = diffParts(ctx, indexSide{local, sums}, &rootSide{bucket: bucket, root: root, cache: partCache(opts.PartCache)}, ranges, opts, true)
	}
	if plan == nil {
		return nil, false, err
	}
	plan.generation = gen
	plan.partCache = partCache(opts.PartCache)
	plan.memory = opts.Memory
	if plan.retained, err = readRetained(ctx, bucket); err != nil {
		plan.Close()
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	plan.hasRetained = true
	resume, rerr := Interrupted(ctx, bucket)
	if rerr != nil {
		return nil, false, fmt.Errorf("publish: %w", rerr)
	}
	return plan, resume, err
}

// A Fallback supplies the files of a rollback that the site folder's
// store does not hold: those of a release made by a distributed build,
// whose bytes never passed through this machine, are staged in the
// bucket (see package distbuild).
type Fallback interface {
	Source
	// Missing returns, of the files shas (SHA-256 sums, hex), those it
	// cannot supply. It is asked before anything is written.
	Missing(ctx context.Context, shas []string) ([]string, error)
}

// PrepareRollback works out what putting release id back takes: the
// release's manifest against the remote one. The uploads come from store,
// which holds every file published from this site folder, and those store
// lacks from fallback, if not nil. The source returned is StoreSource
// when store holds every file; then, and only then, fallback is unused.
// Every file is found before anything is written: a rollback that could
// not finish fails here.
func PrepareRollback(ctx context.Context, bucket *blob.Bucket, id string, store *Store, fallback Fallback, opts DiffOptions) (plan *Plan, src Source, resume bool, err error) {
	release, err := ReleaseRoot(ctx, bucket, id)
	if err != nil {
		return nil, nil, false, err
	}
	root, err := ReadRoot(ctx, bucket)
	if err != nil {
		return nil, nil, false, fmt.Errorf("rollback: %w", err)
	}
	var remote side = emptySide{}
	if root != nil {
		remote = &rootSide{bucket: bucket, root: root}
	}
	pending, err := PendingDeletes(ctx, bucket)
	if errors.Is(err, ErrDeletesUnreadable) {
		return nil, nil, false, fmt.Errorf("rollback: %w; run bake publish, which finishes that publish, then roll back", err)
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("rollback: %w", err)
	}
	opts.Pending = append(opts.Pending, pending...)
	plan, err = diffParts(ctx, &rootSide{bucket: bucket, root: release}, remote, rangesOf(release), opts, false)
	if plan == nil {
		return nil, nil, false, err
	}
	var lerr error
	if plan.retained, lerr = readRetained(ctx, bucket); lerr != nil {
		plan.Close()
		return nil, nil, false, fmt.Errorf("rollback: %w", lerr)
	}
	plan.hasRetained = true
	lacking := map[string]string{} // SHA-256 → a key of that file
	for c, lerr := range plan.UploadList() {
		if lerr != nil {
			plan.Close()
			return nil, nil, false, fmt.Errorf("rollback: %w", lerr)
		}
		if !store.Has(c.Entry.SHA256) {
			if fallback == nil {
				plan.Close()
				return nil, nil, false, fmt.Errorf("rollback to %s: %s: store: no file %s: it was never published from this site folder", id, c.Key, c.Entry.SHA256[:12])
			}
			lacking[c.Entry.SHA256] = c.Key
		}
	}
	src = StoreSource{Store: store}
	if len(lacking) > 0 {
		missing, merr := fallback.Missing(ctx, slices.Sorted(maps.Keys(lacking)))
		if merr != nil {
			plan.Close()
			return nil, nil, false, fmt.Errorf("rollback to %s: %w", id, merr)
		}
		if len(missing) > 0 {
			plan.Close()
			sha := missing[0]
			return nil, nil, false, fmt.Errorf("rollback to %s: %s: no file %s: it was never published from this site folder, nor staged in the target by a distributed build (%d such files)",
				id, lacking[sha], sha[:12], len(missing))
		}
		src = storeFirst{store: store, fallback: fallback}
	}
	resume, rerr := Interrupted(ctx, bucket)
	if rerr != nil {
		return nil, nil, false, fmt.Errorf("rollback: %w", rerr)
	}
	return plan, src, resume, err
}

// storeFirst reads a file from the store, or else from the fallback.
type storeFirst struct {
	store    *Store
	fallback Source
}

func (s storeFirst) File(key string, e bake.Entry) ([]byte, error) {
	if s.store.Has(e.SHA256) {
		return s.store.Get(e.SHA256)
	}
	return s.fallback.File(key, e)
}
