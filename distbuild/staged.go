package distbuild

import (
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"sync"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/publish"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Staged is the source of a rollback (bake rollback) to a release that a
// distributed build made: its files never passed through the machine that
// rolls back, so the site folder's store lacks them, but the workers
// staged them in the bucket (StagedKey, or a published form), where they
// stay until bake prune removes what no kept release needs. Staged reads
// them from there (a publish.Fallback), and, as a publish.Copier, copies
// their published forms to their keys server-side, Workers at once.
type Staged struct {
	Ctx     context.Context // of the rollback: Source.File takes none
	Bucket  *blob.Bucket
	Workers int // copies and checks at once; if 0, 32
}

func (s Staged) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return 32
}

// File returns the staged file of e: its bytes, or, when only its
// published form was staged, that form decoded.
func (s Staged) File(key string, e bake.Entry) ([]byte, error) {
	data, err := s.Bucket.ReadAll(s.Ctx, StagedKey(e.SHA256))
	if gcerrors.Code(err) == gcerrors.NotFound {
		data, err = s.fromForm(e)
	}
	if err != nil {
		return nil, fmt.Errorf("read staged %s: %w", key, err)
	}
	return data, nil
}

// fromForm returns the bytes of e from one of its staged published forms.
func (s Staged) fromForm(e bake.Entry) ([]byte, error) {
	key, err := s.anyForm(s.Ctx, e.SHA256)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%s: neither the file nor a published form of it is staged", StagedKey(e.SHA256))
	}
	r, err := s.Bucket.NewReader(s.Ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var enc string
	if a, err := s.Bucket.Attributes(s.Ctx, key); err == nil {
		enc = a.ContentEncoding
	}
	if enc == "" {
		return body, nil
	}
	return precompress.Decode(enc, body, e.Size)
}

// anyForm returns the key of a staged published form of the file sha, or
// "" if none is staged.
func (s Staged) anyForm(ctx context.Context, sha string) (string, error) {
	objs, _, err := s.Bucket.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: StagedKey(sha) + "."})
	if err != nil || len(objs) == 0 {
		return "", err
	}
	return objs[0].Key, nil
}

// Missing returns the files of shas of which neither the file nor a
// published form is staged (one listing request a file, Workers at once).
func (s Staged) Missing(ctx context.Context, shas []string) ([]string, error) {
	var (
		mu      sync.Mutex
		missing []string
	)
	err := forEach(ctx, s.workers(), shas, func(ctx context.Context, sha string) error {
		ok, err := s.has(ctx, sha)
		if err != nil {
			return fmt.Errorf("look for staged %s: %w", StagedKey(sha), err)
		}
		if !ok {
			mu.Lock()
			missing = append(missing, sha)
			mu.Unlock()
		}
		return nil
	})
	slices.Sort(missing)
	return missing, err
}

// has reports whether the file sha, or a published form of it, is staged:
// a key of StagedKey(sha) itself or with ".DIGEST", not a sibling alone
// ("-OPTIONS.EXT"), which a publish cannot use.
func (s Staged) has(ctx context.Context, sha string) (bool, error) {
	prefix := StagedKey(sha)
	token := blob.FirstPageToken
	for {
		objs, next, err := s.Bucket.ListPage(ctx, token, 100, &blob.ListOptions{Prefix: prefix})
		if err != nil {
			return false, err
		}
		for _, o := range objs {
			if rest := o.Key[len(prefix):]; rest == "" || rest[0] == '.' {
				return true, nil
			}
		}
		if len(next) == 0 {
			return false, nil
		}
		token = next
	}
}

// Staged returns the key of the staged published form of the file of c,
// with the headers wo.
func (s Staged) Staged(c publish.Change, wo *blob.WriterOptions) string {
	return formKey(c.Entry.SHA256, publish.FormDigest(wo))
}

// Copy copies each staged form to its key, server-side, Workers at once,
// and returns the keys whose form is not staged.
func (s Staged) Copy(ctx context.Context, copies iter.Seq2[publish.StagedCopy, error]) ([]string, error) {
	var pairs [][2]string
	for c, err := range copies {
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, [2]string{c.From, c.To})
	}
	return copyAll(ctx, s.Bucket, pairs, s.workers())
}
