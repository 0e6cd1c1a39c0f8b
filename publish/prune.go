package publish

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bakehq/bake"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// PruneResult says what Prune removed (or would remove, in a dry run).
type PruneResult struct {
	Releases     int   `json:"releases"`      // release records removed from the targets
	KeptReleases int   `json:"kept_releases"` // release records kept
	Objects      int   `json:"objects"`       // files removed from the store
	Bytes        int64 `json:"bytes"`         // their size
	KeptObjects  int   `json:"kept_objects"`  // files kept in the store
}

// Prune keeps the newest keep releases of each target and the files of the
// store they need, and removes the older release records (so that no
// release is listed that cannot be rolled back to) and every other file of
// the store. The store serves every target published from the site folder:
// pass them all, or rolling back a target left out may miss files. With
// dryRun, nothing is removed.
func Prune(ctx context.Context, store *Store, targets []*blob.Bucket, keep int, dryRun bool) (*PruneResult, error) {
	if keep < 1 {
		return nil, fmt.Errorf("prune: keep at least 1 release (the live one)")
	}
	res := &PruneResult{}
	needed := map[[32]byte]bool{}
	addManifest := func(data []byte) error {
		for e, err := range bake.ManifestEntries(bytes.NewReader(data)) {
			if err != nil {
				return err
			}
			var sum [32]byte
			if _, err := hex.Decode(sum[:], []byte(e.SHA256)); err == nil {
				needed[sum] = true
			}
		}
		return nil
	}
	var drop []string // release keys to remove, per target in order
	var dropFrom []*blob.Bucket
	for _, bucket := range targets {
		rels, err := Releases(ctx, bucket)
		if err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		cut := max(0, len(rels)-keep)
		for _, r := range rels[cut:] {
			data, err := ReleaseManifest(ctx, bucket, r.ID)
			if err != nil {
				return nil, fmt.Errorf("prune: %w", err)
			}
			if err := addManifest(data); err != nil {
				return nil, fmt.Errorf("prune: release %s: %w", r.ID, err)
			}
		}
		// What is live, whatever the releases say.
		if rc, err := OpenRemote(ctx, bucket); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		} else if rc != nil {
			data, err := io.ReadAll(rc)
			rc.Close()
			if err == nil {
				err = addManifest(data)
			}
			if err != nil {
				return nil, fmt.Errorf("prune: live manifest: %w", err)
			}
		}
		res.KeptReleases += len(rels) - cut
		for _, r := range rels[:cut] {
			drop = append(drop, ReleasesPrefix+r.ID+".json", ReleasesPrefix+r.ID+".manifest.jsonl.gz")
			dropFrom = append(dropFrom, bucket, bucket)
			res.Releases++
		}
	}
	// The records first: a crash after them leaves files no release needs,
	// which the next prune removes; never a release without its files.
	if !dryRun {
		for i, key := range drop {
			if err := dropFrom[i].Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return res, fmt.Errorf("prune: delete %s: %w", key, err)
			}
		}
	}
	err := filepath.WalkDir(store.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == store.Dir {
				return filepath.SkipDir // no store yet
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		var sum [32]byte
		_, herr := hex.Decode(sum[:], []byte(name))
		switch {
		case herr == nil && len(name) == 64 && needed[sum]:
			res.KeptObjects++
			return nil
		case herr != nil && !strings.HasPrefix(name, ".put-"):
			return nil // not the store's: leave it
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		res.Objects++
		res.Bytes += info.Size()
		if dryRun {
			return nil
		}
		return os.Remove(p)
	})
	if err != nil {
		return res, fmt.Errorf("prune: store: %w", err)
	}
	if !dryRun {
		// Folders left empty (one per first two hex digits).
		if dirs, err := os.ReadDir(store.Dir); err == nil {
			for _, d := range dirs {
				if d.IsDir() {
					os.Remove(filepath.Join(store.Dir, d.Name())) // fails unless empty
				}
			}
		}
	}
	return res, nil
}
