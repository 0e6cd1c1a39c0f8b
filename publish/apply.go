package publish

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/output"
	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Keys bake keeps in the bucket for itself, beside the site.
const (
	DeletesKey    = bake.ReservedDir + "/deletes.jsonl" // deletes begun but not finished
	PublishingKey = bake.ReservedDir + "/publishing"    // there while a publish runs
	HeadersKey    = bake.ReservedDir + "/headers.json"  // the header rules of the last publish
)

// ErrBuildChanged is returned (wrapped) by Apply when the build's manifest
// is no longer the one the plan was made from: a build ran between Prepare
// and the end of the uploads. Nothing is deleted and the remote manifest
// is left as it was; prepare and apply again.
var ErrBuildChanged = errors.New("the build changed while publishing (a build ran since the plan was made); publish again")

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// Dir is the build folder the uploads are read from, unless From is set.
	Dir string
	// From, if set, provides the uploads instead of Dir (a rollback reads
	// them from the Store).
	From Source
	// Store, if set, keeps a copy of every uploaded file, for rollback.
	Store *Store
	// Release describes this publish in the release record; Apply fills
	// in its ID, time and counts.
	Release Release
	// Workers is the number of objects uploaded or deleted at once. If
	// zero, 32: an upload waits mostly on the network (S3 answers in tens
	// of milliseconds), so more at once shorten a publish.
	Workers int
	// Compress stores text types gzip-compressed with Content-Encoding:
	// gzip, for targets that serve headers (S3, GCS, Azure); not for a
	// folder, where a web server would send the compressed bytes as they are.
	Compress bool
	// Encoding, with Compress, is "gzip" (the default) or "br" (brotli).
	Encoding string
	// CacheControl returns the Cache-Control header of an object. If nil,
	// DefaultCacheControl.
	CacheControl func(key string, e bake.Entry) string
	// HeaderRules, if set, is stored at HeadersKey with the new manifest:
	// the rules CacheControl follows, for the next publish to compare
	// with its own (see DiffOptions.Headers).
	HeaderRules []byte
	// Retries is how many times a failed upload or delete is tried again,
	// with backoff. If zero, 4; if negative, none.
	Retries int
	// Timeout bounds one try of one upload or delete. If zero, 2 minutes.
	Timeout time.Duration
	// Resume skips uploads whose object already has the same SHA-256 and
	// content type (one HEAD each): set it when Interrupted reports that
	// the last publish did not finish, so a re-run does not send again
	// what that one sent. On a folder, where the metadata is written
	// before the bytes, the bytes are hashed too.
	Resume bool
	// Logger receives progress and retries. If nil, logs are discarded.
	Logger *slog.Logger
	// Progress, if set, counts objects done.
	Progress *atomic.Int64
	// BeforeWrite, if set, may set driver-specific options of an upload
	// through asFunc (see WriterOptions.BeforeWrite of gocloud.dev/blob),
	// such as an S3 website redirect for a redirect page.
	BeforeWrite func(c Change, asFunc func(any) bool) error
	// Copy, if set, copies the files staged in their published form to
	// their keys server-side instead of uploading them (see Copier); not
	// on a folder.
	Copy Copier

	folder bool // the bucket is a folder (see isFolder)
}

// errIntegrity marks bytes that are not the ones a plan was made from.
var errIntegrity = errors.New("integrity")

// Result is what Apply did.
type Result struct {
	Uploaded  int     `json:"uploaded"`
	Copied    int     `json:"copied,omitempty"` // of Uploaded, copied server-side (ApplyOptions.Copy)
	Deleted   int     `json:"deleted"`
	BytesSent int64   `json:"bytes_sent"` // after compression
	Seconds   float64 `json:"seconds"`
	Release   string  `json:"release"` // ID of the release recorded
}

var fingerprinted = regexp.MustCompile(`[.-][0-9a-fA-F]{8,}\.[a-zA-Z0-9]+$`)

// DefaultCacheControl is the Cache-Control of an object when no rule
// matches: fingerprinted assets (app.3f9a2c1d.css) never change, so a year
// and immutable; HTML a minute, served stale while revalidating for ten;
// everything else an hour.
func DefaultCacheControl(key string, e bake.Entry) string {
	switch {
	case bake.IsHTML(e.Type):
		return "public, max-age=60, stale-while-revalidate=600"
	case fingerprinted.MatchString(path.Base(key)):
		return "public, max-age=31536000, immutable"
	}
	return "public, max-age=3600"
}

// compressible reports whether a content type is text worth gzip.
// Compressible reports whether an object is stored compressed on targets
// that serve headers: a text type of at least 1 KB.
func Compressible(e bake.Entry) bool { return compressible(e.Type) && e.Size >= 1024 }

func compressible(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.TrimSpace(ct)
	return strings.HasPrefix(ct, "text/") || strings.HasSuffix(ct, "+xml") || strings.HasSuffix(ct, "/xml") ||
		strings.HasSuffix(ct, "json") || ct == "application/javascript" || ct == "image/svg+xml"
}

// RemoteHeaderRules returns what the last publish stored at HeadersKey, or
// nil when there is nothing (a bucket published by an older bake), or an
// empty slice, which are no rules at all, when a folder's copy cannot be
// read (a publish was killed while writing it).
func RemoteHeaderRules(ctx context.Context, bucket *blob.Bucket) ([]byte, error) {
	b, err := bucket.ReadAll(ctx, HeadersKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if unreadable(bucket, err) {
		return []byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", HeadersKey, err)
	}
	return b, nil
}

// ErrDeletesUnreadable is returned (wrapped) by PendingDeletes when a
// folder's list of pending deletes cannot be read: a publish was killed
// while writing it. Prepare then compares the build with what the folder
// holds, which finds the objects to delete.
var ErrDeletesUnreadable = errors.New("the pending deletes of an interrupted publish cannot be read")

// PendingDeletes returns the keys a publish that was interrupted meant to
// delete, so that the next one finishes the job.
func PendingDeletes(ctx context.Context, bucket *blob.Bucket) ([]string, error) {
	data, err := bucket.ReadAll(ctx, DeletesKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if unreadable(bucket, err) {
		return nil, fmt.Errorf("read pending deletes: %w (%w)", ErrDeletesUnreadable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read pending deletes: %w", err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Apply carries out plan on bucket: assets, then pages, then (after
// recording the deletes to come) the new remote manifest, then deletes,
// pages before the assets they may use.
// A failure stops it at the end of the phase it is in, so that pages are
// never uploaded before an asset they may use; a re-run completes it. The
// manifest published is the source's; when it is not the one the plan was
// made from, Apply stops before it with an error wrapping ErrBuildChanged.
// On a folder, after an interrupted publish, Apply also removes the
// temporary files that publish's writes left beside the objects (only
// for keys bake publishes).
func Apply(ctx context.Context, bucket *blob.Bucket, plan *Plan, opts ApplyOptions) (*Result, error) {
	opts.defaults()
	start := time.Now()
	opts.folder = isFolder(bucket)
	cleanup := false
	if opts.folder {
		var err error
		if cleanup, err = Interrupted(ctx, bucket); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
	}
	src := opts.From
	if src == nil {
		root, err := os.OpenRoot(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("publish: open build: %w; run bake build first", err)
		}
		defer root.Close()
		src = dirSource{root: root, dir: opts.Dir}
	}
	res := &Result{}
	if err := retry(ctx, opts, "write "+PublishingKey, func() error {
		return bucket.WriteAll(ctx, PublishingKey, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), &blob.WriterOptions{ContentType: "text/plain; charset=utf-8", CacheControl: "no-store"})
	}); err != nil {
		return res, fmt.Errorf("publish: %w", err)
	}
	var sent atomic.Int64
	upload := func(ctx context.Context, c Change) error {
		n, err := uploadOne(ctx, bucket, src, c, opts)
		sent.Add(n)
		return err
	}
	for _, phase := range []*Changes{&plan.Assets, &plan.Pages} {
		changes := phase.All()
		if opts.Copy != nil && !opts.folder {
			rest, n, err := copyStaged(ctx, phase, opts)
			if err != nil {
				res.BytesSent = sent.Load()
				return res, fmt.Errorf("publish: %w", err)
			}
			res.Copied += n
			changes = all(rest)
		}
		if err := each(ctx, changes, opts, upload); err != nil {
			res.BytesSent = sent.Load()
			return res, err
		}
		res.Uploaded += phase.Len()
	}
	res.BytesSent = sent.Load()

	// The manifest stored must be the one the plan was made from: a build
	// that changed the folder since (an incremental one changes it in
	// place) would have it claim files that were not uploaded.
	if err := checkGeneration(ctx, src, plan); err != nil {
		return res, err
	}

	// Record the deletes before the new manifest forgets the old keys.
	if len(plan.Deletes) > 0 {
		var list bytes.Buffer
		for _, c := range plan.Deletes {
			list.WriteString(c.Key + "\n")
		}
		if err := retry(ctx, opts, "write "+DeletesKey, func() error {
			return bucket.WriteAll(ctx, DeletesKey, list.Bytes(), &blob.WriterOptions{ContentType: "text/plain; charset=utf-8", CacheControl: "no-store"})
		}); err != nil {
			return res, fmt.Errorf("publish: %w", err)
		}
	}
	if err := writeParts(ctx, bucket, plan, src, opts); err != nil {
		return res, err
	}
	if opts.HeaderRules != nil {
		// After the manifest: a crash before this write leaves the old
		// rules, and the next publish sends the re-headered objects again.
		if err := retry(ctx, opts, "write "+HeadersKey, func() error {
			return bucket.WriteAll(ctx, HeadersKey, opts.HeaderRules, &blob.WriterOptions{ContentType: "application/json", CacheControl: "no-store"})
		}); err != nil {
			return res, fmt.Errorf("publish: %w", err)
		}
	}
	del := func(ctx context.Context, c Change) error {
		if opts.folder {
			// The siblings of the file, before it: a publish killed in
			// between deletes them again.
			for _, cd := range c.Entry.Encodings {
				if ext := precompress.Ext(cd); ext != "" {
					if err := bucket.Delete(ctx, c.Key+ext); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
						return err
					}
				}
			}
		}
		err := bucket.Delete(ctx, c.Key)
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil // deleted by an earlier, interrupted publish
		}
		return err
	}
	// Pages go first, then what they used: an interruption between the two
	// must not leave an old page whose stylesheet is gone.
	var pages, assets []Change
	for _, c := range plan.Deletes {
		if bake.IsHTML(c.Entry.Type) || strings.HasSuffix(c.Key, ".html") {
			pages = append(pages, c)
		} else {
			assets = append(assets, c)
		}
	}
	for _, phase := range [][]Change{pages, assets} {
		if err := each(ctx, all(phase), opts, del); err != nil {
			return res, err
		}
	}
	res.Deleted = len(plan.Deletes)
	rel := opts.Release
	rel.Time = time.Now().UTC()
	rel.ID = rel.Time.Format("20060102-150405") + "-" + randomHex(3)
	rel.Uploaded, rel.Deleted = res.Uploaded, res.Deleted
	rel.Files = plan.Unchanged + plan.Uploads()
	if err := writeRelease(ctx, bucket, rel, plan.root, opts); err != nil {
		return res, err
	}
	res.Release = rel.ID
	if cleanup {
		// Last, so that a publish interrupted before it is done leaves
		// PublishingKey for the next one to clean up again.
		n, err := removeTemps(ctx, bucket, plan.root, plan.Deletes, start)
		if err != nil {
			return res, fmt.Errorf("publish: %w", err)
		}
		if n > 0 {
			opts.Logger.Info("publish: removed the temporary files of an interrupted publish", "files", n)
		}
	}
	for _, key := range []string{DeletesKey, PublishingKey} {
		if err := bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return res, fmt.Errorf("publish: %w", err)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// defaults fills in the options left zero.
func (opts *ApplyOptions) defaults() {
	if opts.Workers <= 0 {
		opts.Workers = 32
	}
	if opts.CacheControl == nil {
		opts.CacheControl = DefaultCacheControl
	}
	if opts.Retries == 0 {
		opts.Retries = 4
	}
	opts.Retries = max(opts.Retries, 0)
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = &atomic.Int64{}
	}
}

// each runs fn on every change with opts.Workers at once, each with
// retries; it returns the first error after the running ones finish.
func each(ctx context.Context, changes iter.Seq2[Change, error], opts ApplyOptions, fn func(context.Context, Change) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan Change)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	for range opts.Workers {
		wg.Go(func() {
			for c := range work {
				err := retry(ctx, opts, c.Key, func() error {
					// A stalled connection must not hang the publish: each
					// try of each object has its own deadline.
					tctx, cancel := context.WithTimeout(ctx, opts.Timeout)
					defer cancel()
					return fn(tctx, c)
				})
				if err != nil {
					fail(fmt.Errorf("publish %s: %w", c.Key, err))
					continue
				}
				opts.Progress.Add(1)
			}
		})
	}
	for c, err := range changes {
		if err != nil {
			fail(fmt.Errorf("publish: %w", err))
			break
		}
		if ctx.Err() != nil {
			break
		}
		work <- c
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// retry calls fn until it succeeds, the context ends, or opts.Retries
// more tries failed, waiting 100 ms, 200 ms, 400 ms … between tries.
func retry(ctx context.Context, opts ApplyOptions, what string, fn func() error) error {
	wait := 100 * time.Millisecond
	var err error
	for try := 0; try <= opts.Retries; try++ {
		if err = fn(); err == nil || ctx.Err() != nil {
			return err
		}
		if c := gcerrors.Code(err); c == gcerrors.PermissionDenied || c == gcerrors.InvalidArgument || errors.Is(err, errIntegrity) {
			return err // trying again will not help
		}
		opts.Logger.Warn("publish: retrying", "object", what, "try", try+1, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
	return err
}

// Interrupted reports whether the last publish to bucket did not finish.
// On a folder, a PublishingKey that cannot be read, or the temporary file
// of one, is such a publish too.
func Interrupted(ctx context.Context, bucket *blob.Bucket) (bool, error) {
	ok, err := bucket.Exists(ctx, PublishingKey)
	if unreadable(bucket, err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check for an interrupted publish: %w", err)
	}
	if !ok && isFolder(bucket) {
		if ok, err = leftTemps(ctx, bucket); err != nil {
			return false, fmt.Errorf("check for an interrupted publish: %w", err)
		}
	}
	return ok, nil
}

// uploadOne writes one object from the build folder, with its headers;
// it returns the bytes sent.
func uploadOne(ctx context.Context, bucket *blob.Bucket, src Source, c Change, opts ApplyOptions) (int64, error) {
	if opts.Resume {
		if a, err := bucket.Attributes(ctx, c.Key); err == nil && a.Metadata["sha256"] == c.Entry.SHA256 && a.ContentType == c.Entry.Type {
			// On a folder the sidecar holding the metadata is written
			// before the bytes are renamed into place: they may be old.
			if !opts.folder {
				return 0, nil // sent by the interrupted publish
			}
			if sum, err := hashObject(ctx, bucket, c.Key); err == nil && sum == c.Entry.SHA256 {
				return 0, nil
			}
		}
	}
	data, err := src.File(c.Key, c.Entry)
	if err != nil {
		return 0, err
	}
	// The bytes must be the ones the plan was made from: a build swapped
	// in during the publish, or a damaged store, is stopped here.
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != c.Entry.SHA256 {
		return 0, fmt.Errorf("%w: %s does not match its manifest entry (the build changed during the publish?); run bake publish again", errIntegrity, c.Key)
	}
	if opts.Store != nil {
		if err := opts.Store.Put(c.Entry.SHA256, data); err != nil {
			return 0, err
		}
	}
	wo := objectOptions(c, opts.CacheControl)
	var sent int64
	if opts.folder {
		// Siblings first: a publish killed after the file, whose re-run
		// skips the file (Resume), must not leave old siblings beside it.
		n, err := putSiblings(ctx, bucket, src, c, data, wo)
		if err != nil {
			return n, err
		}
		sent = n
	}
	if opts.BeforeWrite != nil {
		wo.BeforeWrite = func(asFunc func(any) bool) error { return opts.BeforeWrite(c, asFunc) }
	}
	z := compressors.Get().(*compressor)
	defer compressors.Put(z)
	data, wo.ContentEncoding, err = encode(c, data, func(cd string) ([]byte, bool) { return storedSibling(src, c, cd, data) }, opts.form(), z)
	if err != nil {
		return 0, err
	}
	if err := bucket.WriteAll(ctx, c.Key, data, wo); err != nil {
		return sent, err
	}
	return sent + int64(len(data)), nil
}

// checkGeneration returns an error wrapping ErrBuildChanged when the build
// a plan was made from is no longer the one in the folder src reads.
func checkGeneration(ctx context.Context, src Source, plan *Plan) error {
	d, ok := src.(dirSource)
	if !ok {
		return nil
	}
	idx, err := output.OpenIndex(ctx, d.dir)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	gen, err := idx.Generation(ctx)
	idx.Close()
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if gen != plan.generation {
		return fmt.Errorf("publish: %w", ErrBuildChanged)
	}
	return nil
}

// compressor is a pooled encoder and its output buffer.
type compressor struct {
	buf bytes.Buffer
	gz  *gzip.Writer
	br  *brotli.Writer
}

var compressors = sync.Pool{New: func() any { return new(compressor) }}

// Metadata of objects that carry precompressed siblings.
const (
	// encMeta, on a file's object, lists the codings of its siblings
	// (bake.Entry.Encodings), comma-separated.
	encMeta = "enc"
	// siblingMeta, on a sibling's object (name.gz on a folder), is its
	// coding. Listed leaves such objects out: they are part of a file.
	siblingMeta = "sibling"
)

// siblingSource is a Source that also has the precompressed siblings the
// build wrote (a build folder).
type siblingSource interface {
	Sibling(key, ext string) ([]byte, error)
}

// Sibling returns the bytes of the sibling of key with extension ext.
func (d dirSource) Sibling(key, ext string) ([]byte, error) {
	data, err := d.root.ReadFile(key + ext)
	if err != nil {
		return nil, fmt.Errorf("read build: %w", err)
	}
	return data, nil
}

// storedSibling returns the sibling of coding cd that the build wrote for
// the file of c, whose bytes are raw (checked against the manifest), when
// src has it and it decompresses to raw: a sibling that does not is not
// sent.
func storedSibling(src Source, c Change, cd string, raw []byte) ([]byte, bool) {
	ss, ok := src.(siblingSource)
	if !ok {
		return nil, false
	}
	sib, err := ss.Sibling(c.Key, precompress.Ext(cd))
	if err != nil {
		return nil, false
	}
	back, err := precompress.Decode(cd, sib, int64(len(raw)))
	if err != nil || !bytes.Equal(back, raw) {
		return nil, false
	}
	return sib, true
}

// putSiblings writes, on a folder target, the precompressed siblings of
// the file of c (raw its bytes): those the build wrote, or, from a source
// without them (a rollback), made again, to the same bytes since
// compression is deterministic. It deletes the siblings of the object
// that the file no longer has, and returns the bytes sent.
func putSiblings(ctx context.Context, bucket *blob.Bucket, src Source, c Change, raw []byte, file *blob.WriterOptions) (int64, error) {
	var sent int64
	var comp *precompress.Compressor
	for _, cd := range precompress.Codings {
		key := c.Key + precompress.Ext(cd)
		if !slices.Contains(c.Entry.Encodings, cd) {
			// The sibling it had (as the remote manifest says, or, on a
			// folder with metadata, as the sibling's own says) goes.
			had := slices.Contains(c.Had, cd)
			if !had && c.Reason != ReasonNew && precompress.Compressible(c.Entry.Type) {
				a, err := bucket.Attributes(ctx, key)
				had = err == nil && a.Metadata[siblingMeta] != ""
			}
			if had {
				if err := bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
					return sent, err
				}
			}
			continue
		}
		data, ok := storedSibling(src, c, cd, raw)
		if !ok {
			if comp == nil {
				comp = precompress.NewCompressor(precompress.Options{Codings: []string{cd}})
			}
			var err error
			if data, err = comp.Encode(cd, raw); err != nil {
				return sent, err
			}
		}
		wo := &blob.WriterOptions{
			ContentType:                 file.ContentType,
			ContentEncoding:             cd,
			CacheControl:                file.CacheControl,
			DisableContentTypeDetection: true,
			Metadata:                    map[string]string{siblingMeta: cd},
		}
		if err := bucket.WriteAll(ctx, key, data, wo); err != nil {
			return sent, err
		}
		sent += int64(len(data))
	}
	return sent, nil
}
