package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ReleasesPrefix is where a bucket keeps the record of every publish.
const ReleasesPrefix = ".bake/releases/"

// Release is the record of one publish: what it put live, when, from what.
type Release struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Files      int       `json:"files"`
	Uploaded   int       `json:"uploaded"`
	Deleted    int       `json:"deleted"`
	Commit     string    `json:"commit,omitempty"`      // git commit of the site folder, if any
	RollbackOf string    `json:"rollback_of,omitempty"` // the release a rollback put back
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// releaseRecord is what the bucket keeps of a release: the release and
// the manifest it put live (its parts stay in the bucket).
type releaseRecord struct {
	Release
	Manifest *Root `json:"manifest"`
}

// writeRelease stores the record of a release, with its manifest.
func writeRelease(ctx context.Context, bucket *blob.Bucket, rel Release, root *Root, opts ApplyOptions) error {
	meta, err := json.Marshal(releaseRecord{Release: rel, Manifest: root})
	if err != nil {
		return fmt.Errorf("publish: record release: %w", err)
	}
	key := ReleasesPrefix + rel.ID + ".json"
	if err := retry(ctx, opts, "write "+key, func() error {
		return bucket.WriteAll(ctx, key, meta, &blob.WriterOptions{ContentType: "application/json", CacheControl: "no-store"})
	}); err != nil {
		return fmt.Errorf("publish: record release: %w", err)
	}
	return nil
}

// Releases lists the releases recorded in bucket, oldest first.
func Releases(ctx context.Context, bucket *blob.Bucket) ([]Release, error) {
	var out []Release
	it := bucket.List(&blob.ListOptions{Prefix: ReleasesPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list releases: %w", err)
		}
		if !strings.HasSuffix(obj.Key, ".json") {
			continue
		}
		data, err := bucket.ReadAll(ctx, obj.Key)
		if err != nil {
			return nil, fmt.Errorf("read release %s: %w", obj.Key, err)
		}
		var r Release
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("read release %s: %w", obj.Key, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Release) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ReleaseRoot returns the manifest a release put live.
func ReleaseRoot(ctx context.Context, bucket *blob.Bucket, id string) (*Root, error) {
	if strings.ContainsAny(id, "/\\") || id == "" {
		return nil, fmt.Errorf("release %q: not a release ID (bake releases lists them)", id)
	}
	data, err := bucket.ReadAll(ctx, ReleasesPrefix+id+".json")
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("no release %q in this target; bake releases lists them", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read release %s: %w", id, err)
	}
	var rec releaseRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("read release %s: %w", id, err)
	}
	if rec.Manifest == nil {
		return nil, fmt.Errorf("release %s has no manifest (recorded by an older bake): it cannot be put back", id)
	}
	if err := rec.Manifest.check(); err != nil {
		return nil, fmt.Errorf("read release %s: %w", id, err)
	}
	return rec.Manifest, nil
}
