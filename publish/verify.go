package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/bakehq/bake"
	"gocloud.dev/blob"
)

// Listed returns what the bucket holds, found by listing it, as manifest
// entries sorted by path. The SHA-256 comes from the metadata bake writes,
// or, for an object without it (a file another tool put there), from
// hashing the bytes; on a folder always from the bytes, since a publish
// killed at the wrong moment leaves a sidecar describing bytes that were
// never renamed into place. An object of a folder whose sidecar cannot be
// read has no SHA-256, so a build that has it sends it again; temporary
// files of interrupted writes are left out. It is the remote side of a
// diff for bake publish --verify, and when the remote manifest is missing.
// Only objects with bake's metadata are marked as bake's (Entry.Route
// "bake"), and only those may be deleted.
func Listed(ctx context.Context, bucket *blob.Bucket) ([]bake.Entry, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	folder := isFolder(bucket)
	var (
		mu       sync.Mutex
		out      []bake.Entry
		firstErr error
		wg       sync.WaitGroup
	)
	keys := make(chan string)
	for range listWorkers {
		wg.Go(func() {
			for key := range keys {
				e, err := listedEntry(ctx, bucket, key, folder)
				if errors.Is(err, errSibling) {
					continue // part of its file
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				out = append(out, e)
				mu.Unlock()
			}
		})
	}
	for obj, err := range listSite(ctx, bucket) {
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("list bucket: %w", err)
			}
			mu.Unlock()
			break
		}
		if obj.IsDir || strings.HasPrefix(obj.Key, bake.ReservedDir+"/") {
			continue
		}
		if _, err := bake.FileName(bake.PathOf(obj.Key)); err != nil {
			continue // not a key bake could have written
		}
		if _, _, ok := tempKey(obj.Key); ok && folder {
			continue // an interrupted write's
		}
		keys <- obj.Key
	}
	close(keys)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's
	}
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortFunc(out, func(a, b bake.Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// errSibling is listedEntry's answer for a precompressed sibling, which
// Listed leaves out.
var errSibling = errors.New("a precompressed sibling")

// listWorkers is how many objects Listed looks at at once.
const listWorkers = 8

// listedEntry returns the entry of key for Listed.
func listedEntry(ctx context.Context, bucket *blob.Bucket, key string, folder bool) (bake.Entry, error) {
	e := bake.Entry{Path: bake.PathOf(key)}
	a, err := bucket.Attributes(ctx, key)
	if folder && brokenSidecar(err) {
		return e, nil // no SHA-256: a build that has it sends it again
	}
	if err != nil {
		return e, fmt.Errorf("verify %s: %w", key, err)
	}
	if a.Metadata[siblingMeta] != "" {
		return e, errSibling
	}
	e.Size, e.SHA256 = a.Size, a.Metadata["sha256"]
	if enc := a.Metadata[encMeta]; enc != "" {
		e.Encodings = strings.Split(enc, ",")
	}
	if e.SHA256 != "" {
		e.Route, e.Type, e.Redirect = "bake", a.ContentType, a.Metadata["redirect"]
	}
	if e.SHA256 == "" || folder {
		if e.SHA256, err = hashObject(ctx, bucket, key); err != nil {
			return e, fmt.Errorf("verify %s: %w", key, err)
		}
	}
	return e, nil
}

// verifyParts plans a publish against what the bucket really holds (see
// Listed) instead of the remote manifest: it repairs objects changed or
// removed behind bake's back, and stores every part of the manifest.
// Objects without bake's metadata are never deleted.
func verifyParts(ctx context.Context, bucket *blob.Bucket, local side, ranges []bucketRange, opts DiffOptions) (*Plan, error) {
	listed, err := Listed(ctx, bucket)
	if err != nil {
		return nil, err
	}
	force := opts
	force.Force = true
	plan, err := diffParts(ctx, local, listSide{listed}, ranges, force, true)
	if err != nil {
		return nil, err
	}
	plan.Deletes = slices.DeleteFunc(plan.Deletes, func(c Change) bool { return c.Entry.Route != "bake" })
	owned := 0
	for _, e := range listed {
		if e.Route == "bake" {
			owned++
		}
	}
	return plan, checkDeletes(plan, owned, opts)
}
