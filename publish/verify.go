package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"gocloud.dev/blob"
)

// Listed returns what the bucket holds, found by listing it, as manifest
// entries sorted by path: the SHA-256 comes from the metadata bake writes,
// or, for an object without it (a folder target, or a file another tool
// put there), from hashing the bytes. It is the remote side of a diff for
// bake publish --verify, and when the remote manifest is missing. Only
// objects with bake's metadata are marked as bake's (Entry.Route "bake"),
// and only those may be deleted.
func Listed(ctx context.Context, bucket *blob.Bucket) ([]bake.Entry, error) {
	var out []bake.Entry
	it := bucket.List(&blob.ListOptions{})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list bucket: %w", err)
		}
		if obj.IsDir || strings.HasPrefix(obj.Key, bake.ReservedDir+"/") {
			continue
		}
		if _, err := bake.FileName(bake.PathOf(obj.Key)); err != nil {
			continue // not a key bake could have written
		}
		a, err := bucket.Attributes(ctx, obj.Key)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", obj.Key, err)
		}
		e := bake.Entry{Path: bake.PathOf(obj.Key), Size: a.Size, SHA256: a.Metadata["sha256"]}
		if e.SHA256 != "" {
			e.Route, e.Type, e.Redirect = "bake", a.ContentType, a.Metadata["redirect"]
		} else {
			data, err := bucket.ReadAll(ctx, obj.Key)
			if err != nil {
				return nil, fmt.Errorf("verify %s: %w", obj.Key, err)
			}
			sum := sha256.Sum256(data)
			e.SHA256 = hex.EncodeToString(sum[:])
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b bake.Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
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
