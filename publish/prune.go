package publish

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// PruneOptions configure [Prune].
type PruneOptions struct {
	// Keep is the number of newest releases kept on each target: at
	// least 1 (the live one).
	Keep int
	// DryRun reports what would be removed, and removes nothing.
	DryRun bool
	// PartGrace is the age under which a manifest part no release names
	// is kept: a publish running meanwhile may have stored it and not yet
	// its root. If zero, an hour; if negative, none.
	PartGrace time.Duration
	// StagedGrace is the age under which a file a distributed build
	// staged (StagedPrefix) is kept though no kept release has it. If
	// zero, the constant StagedGrace; if negative, none.
	StagedGrace time.Duration
	// Workers is the number of staged files deleted at once; if 0, 32.
	Workers int
}

// PruneResult says what Prune removed (or would remove, in a dry run).
type PruneResult struct {
	Releases     int   `json:"releases"`      // release records removed from the targets
	KeptReleases int   `json:"kept_releases"` // release records kept
	Objects      int   `json:"objects"`       // files removed from the store
	Bytes        int64 `json:"bytes"`         // their size
	KeptObjects  int   `json:"kept_objects"`  // files kept in the store
	Parts        int   `json:"parts"`         // manifest parts removed from the targets
	KeptParts    int   `json:"kept_parts"`    // manifest parts kept
	Retained     int   `json:"retained"`      // fingerprinted files no kept release has, removed from the targets
	KeptRetained int   `json:"kept_retained"` // fingerprinted files kept for the releases that have them
	Staged       int   `json:"staged"`        // files staged by distributed builds that no kept release has, removed from the targets
	StagedBytes  int64 `json:"staged_bytes"`  // their size
	KeptStaged   int   `json:"kept_staged"`   // staged files kept: a kept release has them, or they are new
}

// Prune keeps the newest keep releases of each target and the files of the
// store they need, and removes the older release records (so that no
// release is listed that cannot be rolled back to), the manifest parts no
// kept release uses, and every other file of the store. The store serves
// every target published from the site folder: pass them all, or rolling
// back a target left out may miss files.
func Prune(ctx context.Context, store *Store, targets []*blob.Bucket, opts PruneOptions) (*PruneResult, error) {
	keep, dryRun, partGrace := opts.Keep, opts.DryRun, opts.PartGrace
	switch {
	case partGrace == 0:
		partGrace = time.Hour
	case partGrace < 0:
		partGrace = 0
	}
	stagedGrace := opts.StagedGrace
	switch {
	case stagedGrace == 0:
		stagedGrace = StagedGrace
	case stagedGrace < 0:
		stagedGrace = 0
	}
	if keep < 1 {
		return nil, fmt.Errorf("prune: keep at least 1 release (the live one)")
	}
	res := &PruneResult{}
	needed := map[[32]byte]bool{}
	parts := map[string]bool{} // part names read already
	addRoot := func(bucket *blob.Bucket, root *Root) error {
		for _, p := range root.Parts {
			if p.Files == 0 || parts[p.Key] {
				continue
			}
			parts[p.Key] = true
			for e, err := range lineEntries(partLines(ctx, bucket, p)) {
				if err != nil {
					return err
				}
				var sum [32]byte
				if _, err := hex.Decode(sum[:], []byte(e.SHA256)); err == nil {
					needed[sum] = true
				}
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
			root, err := ReleaseRoot(ctx, bucket, r.ID)
			if err == nil {
				err = addRoot(bucket, root)
			}
			if err != nil {
				return nil, fmt.Errorf("prune: release %s: %w", r.ID, err)
			}
		}
		// What is live, whatever the releases say.
		if root, err := ReadRoot(ctx, bucket); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		} else if root != nil {
			if err := addRoot(bucket, root); err != nil {
				return nil, fmt.Errorf("prune: live manifest: %w", err)
			}
		}
		res.KeptReleases += len(rels) - cut
		for _, r := range rels[:cut] {
			drop = append(drop, ReleasesPrefix+r.ID+".json", ReleasesPrefix+r.ID+".manifest.jsonl.gz") // the second: kept by older bakes
			dropFrom = append(dropFrom, bucket, bucket)
			res.Releases++
		}
		// Manifest parts no kept release uses, unless just written (a
		// publish running now may not have stored its manifest yet).
		for obj, err := range storedParts(ctx, bucket) {
			if err != nil {
				return nil, fmt.Errorf("prune: %w", err)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(obj.Key, PartsPrefix), ".jsonl.gz")
			if parts[name] || time.Since(obj.ModTime) < partGrace {
				res.KeptParts++
				continue
			}
			drop = append(drop, obj.Key)
			dropFrom = append(dropFrom, bucket)
			res.Parts++
		}
	}
	// Fingerprinted files publishes left in the targets (RetainedKey):
	// removed once no kept release, nor what is live, has their bytes.
	type retainedList struct {
		bucket *blob.Bucket
		keep   []retained
	}
	var lists []retainedList
	for _, bucket := range targets {
		list, err := readRetained(ctx, bucket)
		if err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		if len(list) == 0 {
			continue
		}
		var keepList []retained
		for _, r := range list {
			var sum [32]byte
			if _, err := hex.Decode(sum[:], []byte(r.SHA256)); err == nil && needed[sum] {
				keepList = append(keepList, r)
				continue
			}
			drop = append(drop, r.Key)
			dropFrom = append(dropFrom, bucket)
		}
		res.Retained += len(list) - len(keepList)
		res.KeptRetained += len(keepList)
		if len(keepList) < len(list) {
			lists = append(lists, retainedList{bucket, keepList})
		}
	}
	// The records first: a crash after them leaves files no release needs,
	// which the next prune removes; never a release without its files.
	// The list of retained files last: a crash before it leaves names of
	// files gone, which the next prune drops.
	if !dryRun {
		for i, key := range drop {
			if err := dropFrom[i].Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return res, fmt.Errorf("prune: delete %s: %w", key, err)
			}
		}
		for _, l := range lists {
			if err := writeRetained(ctx, l.bucket, l.keep); err != nil {
				return res, fmt.Errorf("prune: %w", err)
			}
		}
	}
	// The files distributed builds staged: a rollback to a kept release
	// reads them (see distbuild.Staged); the others go, once old enough
	// that no build running now relies on them.
	for _, bucket := range targets {
		if err := pruneStaged(ctx, bucket, needed, stagedGrace, dryRun, opts.Workers, res); err != nil {
			return res, fmt.Errorf("prune: %w", err)
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

// pruneStaged removes from bucket the staged files (StagedPrefix + the
// file's SHA-256, then its form or sibling) whose file needed lacks and
// that are older than grace, workers at once, streaming the listing, and
// counts them in res.
func pruneStaged(ctx context.Context, bucket *blob.Bucket, needed map[[32]byte]bool, grace time.Duration, dryRun bool, workers int, res *PruneResult) error {
	if workers <= 0 {
		workers = 32
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan string)
	for range workers {
		wg.Go(func() {
			for key := range work {
				if err := bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("delete %s: %w", key, err)
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	it := bucket.List(&blob.ListOptions{Prefix: StagedPrefix})
	var listErr error
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			listErr = fmt.Errorf("list %s: %w", StagedPrefix, err)
			break
		}
		name := strings.TrimPrefix(obj.Key, StagedPrefix)
		var sum [32]byte
		if len(name) < 64 || obj.IsDir {
			continue // not a staged file: leave it
		}
		if _, err := hex.Decode(sum[:], []byte(name[:64])); err != nil {
			continue
		}
		if needed[sum] || time.Since(obj.ModTime) < grace {
			res.KeptStaged++
			continue
		}
		res.Staged++
		res.StagedBytes += obj.Size
		if dryRun {
			continue
		}
		select {
		case work <- obj.Key:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if listErr != nil {
		return listErr
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
