package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/bucketurl"
	"github.com/bakehq/bake/publish"
	"github.com/spf13/cobra"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets, for tests
	_ "gocloud.dev/blob/s3blob"   // s3:// buckets, and S3-compatible servers via endpoint=
)

type publishFlags struct {
	to      string
	dryRun  bool
	json    bool
	force   bool
	verify  bool
	workers int

	// keepPartBytes is publish.DiffOptions.KeepPartBytes (0: its default).
	keepPartBytes int
	// memory is publish.DiffOptions.Memory (bake run: one per target).
	memory *publish.PartMemory
	// snapshot, if set, is given the plan before it is applied (out is the
	// build folder) and may return the Source to upload from instead of
	// the folder (bake run: a copy, so that the next build need not wait).
	snapshot func(plan *publish.Plan, out string) publish.Source
}

func publishCmd(g *globals) *cobra.Command {
	var f publishFlags
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Upload what changed in the build to a bucket or folder",
		Long: `Publish compares the build's manifest with the one it stored in the target
at the last publish, and uploads only new and changed files: assets first,
then pages, then the new manifest, then deletes, so the live site never has
a page whose assets are missing; a publish interrupted at any point, even
killed, is finished by the next one. On a folder, that one checks the bytes
of what it skips, not their .attrs metadata (written first), and removes
the temporary files (<file>.<hex>.tmp) the interrupted one left beside the
files bake publishes. Deletes touch only keys bake published, and stop
above max_deletes (default 256) unless --force. The manifest is kept in the
target in parts (.bake/manifest.json lists them): a publish that changes a
few pages reads and writes a few small parts, whatever the size of the site.

The target is [publish] url of bake.toml, or --to: a folder path,
file:///srv/www, or s3://bucket?region=us-east-1 (S3-compatible servers:
&endpoint=http://host:port&use_path_style=true). Credentials come from the
usual AWS environment variables and files, never from bake.toml.

Objects get the build's Content-Type, a Cache-Control (fingerprinted assets
a year and immutable, HTML a minute with stale-while-revalidate, the rest an
hour, or [[publish.cache_control]] rules; objects whose header a rule change
alters are sent again), and, on S3, gzip for text ([publish] compress = "br"
for brotli, "none" for neither).`,
		Example: `  bake build && bake publish --to /srv/www
  bake publish --dry-run
  bake publish --verify
  bake publish --to 's3://my-site?region=eu-west-1' --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd.Context(), g, f)
		},
	}
	planFlags(cmd, &f)
	cmd.Flags().BoolVar(&f.verify, "verify", false, "compare against what the target really holds (lists it, one request an object; a folder's files are hashed) to repair changes made behind bake's back")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "uploads at once (default: [publish] workers, 32)")
	return cmd
}

// planFlags adds the flags publish and rollback share.
func planFlags(cmd *cobra.Command, f *publishFlags) {
	cmd.Flags().StringVar(&f.to, "to", "", "target bucket URL or folder (default: [publish] url of bake.toml)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the plan (uploads with reasons, deletes, bytes) and change nothing")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the plan and result as JSON on stdout")
	cmd.Flags().BoolVar(&f.force, "force", false, "allow more deletes than max_deletes")
}

// bucketURL turns a folder path into a file:// URL and leaves URLs as they
// are. A folder gets no .attrs sidecar files: a web server serving it
// decides the headers itself.
func bucketURL(target string) (string, error) {
	if strings.Contains(target, "://") {
		u, err := url.Parse(target)
		if err != nil {
			return "", fmt.Errorf("publish: target %q: %w", target, err)
		}
		if u.Scheme == "file" && !u.Query().Has("no_tmp_dir") {
			// Temporary files beside the objects, not in $TMPDIR: a rename
			// cannot cross file systems.
			q := u.Query()
			q.Set("no_tmp_dir", "1")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "metadata=skip&no_tmp_dir=1"}).String(), nil
}

func cacheControl(rules []CacheRule) func(string, bake.Entry) string {
	return func(key string, e bake.Entry) string {
		for _, r := range rules {
			if ok, _ := path.Match(r.Glob, key); ok {
				return r.Value
			}
			if ok, _ := path.Match(r.Glob, path.Base(key)); ok {
				return r.Value
			}
		}
		return publish.DefaultCacheControl(key, e)
	}
}

// target is an opened publish target.
type target struct {
	cfg    *siteConfig
	name   string // as the user gave it
	url    string
	bucket *blob.Bucket
	store  *publish.Store
}

// openTarget reads bake.toml and opens the bucket of --to or [publish] url.
func openTarget(ctx context.Context, g *globals, to string) (*target, error) {
	cfg, err := loadConfig(g.dir)
	if err != nil {
		return nil, reportSetupError(g, false, err)
	}
	name := to
	if name == "" {
		name = cfg.Publish.URL
	}
	if name == "" {
		return nil, fmt.Errorf("publish: no target; set [publish] url in bake.toml or pass --to URL")
	}
	u, err := bucketURL(name)
	if err != nil {
		return nil, err
	}
	bucket, err := bucketurl.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("publish: open %s: %w", name, err)
	}
	return &target{cfg: cfg, name: name, url: u, bucket: bucket,
		store: &publish.Store{Dir: filepath.Join(g.dir, bake.ReservedDir, "objects")}}, nil
}

// partCache returns the folder that keeps the manifest parts last
// published to the target (see publish.DiffOptions.PartCache), one per
// target: .bake/parts/ and a digest of its URL. A folder target has none:
// its parts are local already.
func (t *target) partCache(dir string) string {
	if scheme, _, _ := strings.Cut(t.url, "://"); scheme == "file" || scheme == "mem" {
		return ""
	}
	sum := sha256.Sum256([]byte(t.url))
	return filepath.Join(dir, bake.ReservedDir, "parts", hex.EncodeToString(sum[:8]))
}

// apply carries out a plan with a progress display and prints the result.
func (t *target) apply(ctx context.Context, g *globals, plan *publish.Plan, opts publish.ApplyOptions, asJSON bool, report map[string]any) error {
	scheme, _, _ := strings.Cut(t.url, "://")
	var done atomic.Int64
	stop := startProgress(ctx, g.stdio.Err, g.logger(), !asJSON && plan.Uploads()+len(plan.Deletes) > 100,
		progressSpec{verb: "publishing", unit: "objects", total: int64(plan.Uploads() + len(plan.Deletes)), count: done.Load})
	opts.Progress = &done
	opts.Compress = scheme != "file" && scheme != "mem" && t.cfg.Publish.Compress != "none"
	opts.Encoding = t.cfg.Publish.Compress
	opts.CacheControl = cacheControl(t.cfg.Publish.CacheControl)
	opts.Logger = g.logger()
	opts.Store = t.store
	if opts.Workers == 0 {
		opts.Workers = t.cfg.Publish.Workers
	}
	if scheme == "s3" {
		opts.BeforeWrite = s3Redirects
	}
	if opts.Resume && !asJSON {
		fmt.Fprintln(g.stdio.Err, "the last publish did not finish: skipping what it already sent")
	}
	res, err := publish.Apply(ctx, t.bucket, plan, opts)
	stop()
	if res != nil {
		report["result"] = res
	}
	if err == nil && t.cfg.Publish.CloudFront != "" {
		ids, ierr := invalidate(ctx, t.cfg.Publish.CloudFront, plan)
		report["invalidations"] = ids
		if ierr != nil {
			err = fmt.Errorf("published, but %w; invalidate by hand or wait for the Cache-Control max-age", ierr)
		} else if len(ids) > 0 && !asJSON {
			fmt.Fprintf(g.stdio.Err, "CloudFront %s: invalidation %s\n", t.cfg.Publish.CloudFront, strings.Join(ids, ", "))
		}
	}
	report["peak_rss_bytes"] = peakRSS()
	if asJSON {
		writeReport(g.stdio.Out, report)
	} else if res != nil && err == nil {
		sent := humanBytes(res.BytesSent) + " sent"
		if res.Copied > 0 {
			sent = fmt.Sprintf("%d copied server-side, %s", res.Copied, sent)
		}
		fmt.Fprintf(g.stdio.Out, "published to %s: %d uploaded (%s), %d deleted, %d unchanged in %.2fs; release %s\n",
			t.name, res.Uploaded, sent, res.Deleted, plan.Unchanged, res.Seconds, res.Release)
	}
	return err
}

func runPublish(ctx context.Context, g *globals, f publishFlags) error {
	t, err := openTarget(ctx, g, f.to)
	if err != nil {
		return err
	}
	defer t.bucket.Close()
	cfg := t.cfg
	out := cfg.Site.Output
	if !filepath.IsAbs(out) {
		out = filepath.Join(g.dir, out)
	}
	opts := publish.DiffOptions{MaxDeletes: cfg.Publish.MaxDeletes, Force: f.force, PartCache: t.partCache(g.dir), KeepPartBytes: f.keepPartBytes, Memory: f.memory}
	rules, err := t.headerRules(ctx, &opts)
	if err != nil {
		return err
	}
	prepare := publish.Prepare
	if f.verify {
		prepare = publish.PrepareVerify
	}
	plan, resume, diffErr := prepare(ctx, t.bucket, out, opts)
	if plan == nil {
		return diffErr
	}
	defer plan.Close()
	report := map[string]any{"target": t.name, "plan": plan, "dry_run": f.dryRun}
	var from publish.Source
	if f.snapshot != nil && diffErr == nil && !f.dryRun {
		from = f.snapshot(plan, out)
	}
	return t.run(ctx, g, f, plan, diffErr, report, publish.ApplyOptions{Dir: out, From: from, Workers: f.workers, Resume: resume,
		Release: publish.Release{Commit: gitCommit(g.dir)}, HeaderRules: rules})
}

// headerRecord is what a publish stores at publish.HeadersKey: the rules
// its Cache-Control headers followed. Version changes with the defaults of
// publish.DefaultCacheControl.
type headerRecord struct {
	Version      int         `json:"version"`
	CacheControl []CacheRule `json:"cache_control"`
	Compress     string      `json:"compress,omitempty"`
}

// headerRules returns the header record of this publish, and, when the last
// publish followed other rules, sets opts.Headers so that the objects whose
// Cache-Control changes are uploaded again.
func (t *target) headerRules(ctx context.Context, opts *publish.DiffOptions) ([]byte, error) {
	cur, err := json.Marshal(headerRecord{Version: 1, CacheControl: t.cfg.Publish.CacheControl, Compress: t.cfg.Publish.Compress})
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	old, err := publish.RemoteHeaderRules(ctx, t.bucket)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if old == nil || bytes.Equal(old, cur) {
		return cur, nil // nothing recorded (an older bake), or the same rules
	}
	var rec headerRecord
	if err := json.Unmarshal(old, &rec); err != nil || rec.Version != 1 {
		// Rules we cannot read: every object may have other headers.
		opts.Headers = func(string, bake.Entry) bool { return true }
		return cur, nil
	}
	was, now := cacheControl(rec.CacheControl), cacheControl(t.cfg.Publish.CacheControl)
	encodingOf := func(compress string) string { return cmp.Or(compress, "gzip") } // "" is the default, gzip
	encoding := encodingOf(rec.Compress) != encodingOf(t.cfg.Publish.Compress)
	opts.Headers = func(key string, e bake.Entry) bool {
		return was(key, e) != now(key, e) || encoding && publish.Compressible(e)
	}
	return cur, nil
}

// run shows the plan (dry run, or a plan refused for its deletes) or
// applies it.
func (t *target) run(ctx context.Context, g *globals, f publishFlags, plan *publish.Plan, diffErr error, report map[string]any, opts publish.ApplyOptions) error {
	if f.dryRun || diffErr != nil {
		if f.json {
			writeReport(g.stdio.Out, report)
		} else {
			printPlan(g, plan)
		}
		return diffErr
	}
	return t.apply(ctx, g, plan, opts, f.json, report)
}

// gitCommit returns the commit of the site folder's git repository, or "".
func gitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// printPlan lists a plan for people: each upload with its reason, each delete.
func printPlan(g *globals, plan *publish.Plan) {
	const most = 50
	first := firstUploads(plan, most)
	for _, c := range first {
		fmt.Fprintf(g.stdio.Out, "upload %-8s %s (%s)\n", c.Reason, c.Key, humanBytes(c.Entry.Size))
	}
	n := plan.Uploads()
	for _, c := range plan.Deletes {
		if n++; n <= most {
			fmt.Fprintf(g.stdio.Out, "delete          %s\n", c.Key)
		}
	}
	if n > most {
		fmt.Fprintf(g.stdio.Out, "… and %d more (--json lists them all)\n", n-most)
	}
	fmt.Fprintf(g.stdio.Out, "plan: %s\n", plan.Summary())
}

// writeReport prints a publish or rollback report as JSON, its plan a
// change at a time (see publish.Plan.WriteJSON).
func writeReport(w io.Writer, report map[string]any) error {
	bw := bufio.NewWriter(w)
	keys := slices.Sorted(maps.Keys(report))
	bw.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n  %q: ", k)
		if plan, ok := report[k].(*publish.Plan); ok {
			if err := plan.WriteJSON(bw); err != nil {
				return err
			}
			continue
		}
		b, err := json.MarshalIndent(report[k], "  ", "  ")
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// firstUploads returns the first most uploads of plan in the order they go
// (assets, then pages), each sorted by key: a plan lists them part by part
// of the manifest, which is not an order people read.
func firstUploads(plan *publish.Plan, most int) []publish.Change {
	order := func(a, b publish.Change) int {
		if ha, hb := bake.IsHTML(a.Entry.Type), bake.IsHTML(b.Entry.Type); ha != hb {
			if hb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	}
	var first []publish.Change
	for c, err := range plan.UploadList() {
		if err != nil {
			break
		}
		if len(first) == most && order(c, first[most-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(first, c, order)
		first = slices.Insert(first, i, c)
		if len(first) > most {
			first = first[:most]
		}
	}
	return first
}
