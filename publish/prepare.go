package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"github.com/klauspost/compress/gzip"
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
	remote, err := OpenRemote(ctx, bucket)
	if err != nil {
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	var remoteReader io.Reader
	if remote != nil {
		r, stop := readAhead(remote)
		defer stop()
		remoteReader = r
	}
	pending, err := PendingDeletes(ctx, bucket)
	if err != nil {
		return nil, false, fmt.Errorf("publish: %w", err)
	}
	opts.Pending = append(opts.Pending, pending...)
	if verify || remoteReader == nil {
		// No record of what bake published: look at what is there.
		h := sha256.New()
		plan, err = Verify(ctx, bucket, lineEntries(digestLines(indexLines(ctx, local), h)), opts)
		if plan != nil {
			plan.local = h.Sum(nil)
		}
	} else {
		// The manifest to publish is compressed as the diff reads it, so
		// that Apply need not read the index again.
		gen, gerr := local.Generation(ctx)
		zw := newBackgroundGzip()
		fmt.Fprintf(zw, "{\"bake_manifest\":%d}\n", bake.ManifestVersion)
		plan, err = diffLines(teeLines(indexLines(ctx, local), zw), remoteReader, opts)
		after, aerr := local.Generation(ctx)
		manifest, zerr := zw.Close()
		if plan != nil && gerr == nil && aerr == nil && zerr == nil && gen != "" && gen == after {
			plan.manifest, plan.generation = manifest, gen
		}
	}
	if plan == nil {
		return nil, false, err
	}
	resume, rerr := Interrupted(ctx, bucket)
	if rerr != nil {
		return nil, false, fmt.Errorf("publish: %w", rerr)
	}
	return plan, resume, err
}

// PrepareRollback works out what putting release id back takes: the
// release's manifest against the remote one. The uploads come from store,
// which holds every file published from this site folder.
func PrepareRollback(ctx context.Context, bucket *blob.Bucket, id string, store *Store, opts DiffOptions) (plan *Plan, src Source, resume bool, err error) {
	manifest, err := ReleaseManifest(ctx, bucket, id)
	if err != nil {
		return nil, nil, false, err
	}
	remote, err := OpenRemote(ctx, bucket)
	if err != nil {
		return nil, nil, false, fmt.Errorf("rollback: %w", err)
	}
	var remoteReader io.Reader
	if remote != nil {
		r, stop := readAhead(remote)
		defer stop()
		remoteReader = r
	}
	pending, err := PendingDeletes(ctx, bucket)
	if err != nil {
		return nil, nil, false, fmt.Errorf("rollback: %w", err)
	}
	opts.Pending = append(opts.Pending, pending...)
	plan, err = DiffManifests(bytes.NewReader(manifest), remoteReader, opts)
	if plan == nil {
		return nil, nil, false, err
	}
	for _, list := range [][]Change{plan.Assets, plan.Pages} {
		for _, c := range list {
			if _, gerr := store.Get(c.Entry.SHA256); gerr != nil {
				return nil, nil, false, fmt.Errorf("rollback to %s: %s: %w", id, c.Key, gerr)
			}
		}
	}
	resume, rerr := Interrupted(ctx, bucket)
	if rerr != nil {
		return nil, nil, false, fmt.Errorf("rollback: %w", rerr)
	}
	return plan, StoreSource{Store: store, Contents: manifest}, resume, err
}

// backgroundGzip compresses what is written to it on another goroutine,
// in chunks: the diff reads the index on one core while the manifest to
// publish is compressed on the other.
type backgroundGzip struct {
	chunk []byte
	work  chan []byte
	done  chan struct{}
	buf   bytes.Buffer
	err   error
}

const gzipChunk = 256 << 10

func newBackgroundGzip() *backgroundGzip {
	z := &backgroundGzip{chunk: make([]byte, 0, gzipChunk), work: make(chan []byte, 4), done: make(chan struct{})}
	go func() {
		defer close(z.done)
		zw, _ := gzip.NewWriterLevel(&z.buf, gzip.BestSpeed)
		for b := range z.work {
			if _, err := zw.Write(b); err != nil && z.err == nil {
				z.err = err
			}
		}
		if err := zw.Close(); err != nil && z.err == nil {
			z.err = err
		}
	}()
	return z
}

func (z *backgroundGzip) Write(p []byte) (int, error) {
	z.chunk = append(z.chunk, p...)
	if len(z.chunk) >= gzipChunk {
		z.work <- z.chunk
		z.chunk = make([]byte, 0, gzipChunk)
	}
	return len(p), nil
}

// Close compresses what is left and returns the compressed bytes.
func (z *backgroundGzip) Close() ([]byte, error) {
	if len(z.chunk) > 0 {
		z.work <- z.chunk
	}
	close(z.work)
	<-z.done
	return z.buf.Bytes(), z.err
}

// readAhead reads rc on another goroutine (decompressing the target's
// manifest on another core while the diff reads the local one on this
// one); stop closes rc once that goroutine is done.
func readAhead(rc io.ReadCloser) (r io.Reader, stop func()) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.Copy(pw, rc)
		pw.CloseWithError(err)
	}()
	return pr, func() {
		pr.Close() // ends the copy, if the diff stopped early
		<-done
		rc.Close()
	}
}
