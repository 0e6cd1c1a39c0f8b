package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bakehq/bake/distbuild"
	"github.com/bakehq/bake/internal/bucketurl"
	"github.com/bakehq/bake/jobs"
	"github.com/bakehq/bake/publish"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

type workerFlags struct {
	jobsURL      string
	jobsSchema   string
	addr         string
	uploads      int
	shardTimeout time.Duration
	rescueAfter  time.Duration
}

func workerCmd(g *globals) *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Render the shards of distributed builds (bake build --distributed)",
		Long: `Worker claims the shards of distributed builds from the job database
(PostgreSQL: the site's, or --jobs-url) and renders them: each shard is a
route, or a range of a route's rows or pages. Each file goes straight to
the build's target bucket, under its SHA-256 in .bake/staged/, and the
shard's manifest lines to PostgreSQL, in the transaction that completes
its job. When every shard of a build is done, one worker publishes it, as
bake publish does: assets, pages, the manifest, the release, the deletes.

Run as many as you like, on as many machines: each needs the site folder
(bake.toml, templates/, static/: the same as the planner's), the database
and the bucket, nothing else. A worker renders one shard at a time, on
every core. A worker that dies mid-shard loses nothing: after
--rescue-after its shard is given to another (River's rescuer, which runs
every 30 seconds). A shard with problems (a template error, a bad row)
fails the build, which then never goes live.

On --addr it serves /metrics (bake_shards_total, bake_shard_pages_total,
bake_shard_duration_seconds, …) and /healthz. See docs/scale-out.md.`,
		Example: `  bake worker                                  # on each machine, in the site folder
  bake build --distributed --to 's3://www-example-org?region=eu-west-1'
  GOMAXPROCS=1 bake worker --addr 127.0.0.1:9100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd.Context(), g, f)
		},
	}
	cmd.Flags().StringVar(&f.jobsURL, "jobs-url", "", "postgres:// URL of the job database (default: the site's)")
	cmd.Flags().StringVar(&f.jobsSchema, "jobs-schema", jobsSchema, "PostgreSQL schema of the job tables")
	cmd.Flags().StringVar(&f.addr, "addr", "", "serve /metrics and /healthz on this HOST:PORT (default: none)")
	cmd.Flags().IntVar(&f.uploads, "uploads", 16, "pages rendered and uploaded at once")
	cmd.Flags().DurationVar(&f.shardTimeout, "shard-timeout", 10*time.Minute, "a shard that takes longer fails, and is tried again")
	cmd.Flags().DurationVar(&f.rescueAfter, "rescue-after", 30*time.Minute, "a job running this long is taken for the job of a dead worker and given to another; longer than --shard-timeout and the longest publish")
	return cmd
}

func runWorker(ctx context.Context, g *globals, f workerFlags) error {
	if f.rescueAfter <= f.shardTimeout {
		return fmt.Errorf("worker: --rescue-after (%s) must be longer than --shard-timeout (%s): a shard still running would be given to a second worker", f.rescueAfter, f.shardTimeout)
	}
	site, err := openSite(ctx, g.dir, 0)
	if err != nil {
		return reportSetupError(g, false, err)
	}
	// Shards read the database from end to end, as a full build does.
	if site, err = site.unmapped(ctx); err != nil {
		return err
	}
	defer site.Close()
	pool, err := openJobsPool(ctx, site.cfg, f.jobsURL, f.jobsSchema)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The indexes of recent builds, for the parts of updates: this
	// worker's, gone with it.
	indexes, err := os.MkdirTemp("", "bake-worker-indexes-")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer os.RemoveAll(indexes)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	log := g.logger()
	w, err := distbuild.NewWorker(distbuild.Config{
		Pool:         pool,
		Schema:       f.jobsSchema,
		Site:         site.site,
		Finish:       site.finishOptions(false),
		OpenBucket:   bucketurl.Open,
		Publish:      distPublisher(g),
		Forms:        stagedForms(site.cfg),
		Consume:      site.consume,
		Indexes:      &distbuild.IndexCache{Dir: indexes},
		Uploads:      f.uploads,
		ShardTimeout: f.shardTimeout,
		RescueAfter:  f.rescueAfter,
		Metrics:      jobs.NewShardMetrics(reg),
		Logger:       log,
		RiverLogger:  riverLogger(g),
	})
	if err != nil {
		return err
	}
	if f.addr != "" {
		ln, err := net.Listen("tcp", f.addr)
		if err != nil {
			return fmt.Errorf("worker: %w; choose another with --addr HOST:PORT", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.Info("worker metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(g.stdio.Err, "bake worker: rendering the shards of distributed builds of %s (Ctrl-C to stop)\n", g.dir)
	<-ctx.Done()
	// Let the shard running finish, for a while: else it is tried again.
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fmt.Fprintln(g.stdio.Err, "bake worker: stopped")
	return nil
}

// distPublish is the report a distributed build keeps of its publish.
type distPublish struct {
	Target     string          `json:"target"`
	Result     *publish.Result `json:"result"`
	Plan       distPlan        `json:"plan"`
	CloudFront []string        `json:"invalidations,omitempty"`
}

type distPlan struct {
	Uploads   int   `json:"uploads"`
	Deletes   int   `json:"deletes"`
	Unchanged int   `json:"unchanged"`
	Bytes     int64 `json:"bytes"`
}

// distPublisher publishes a distributed build as bake publish publishes
// a build folder: the same plan, headers, compression, releases and
// CloudFront invalidation, the bytes read from the staged files.
func distPublisher(g *globals) distbuild.Publisher {
	return func(ctx context.Context, target, dir string, from publish.Source) (string, []byte, error) {
		q := *g
		q.stdio = Stdio{In: strings.NewReader(""), Out: logWriter{g.logger()}, Err: logWriter{g.logger()}}
		t, err := openTarget(ctx, &q, target)
		if err != nil {
			return "", nil, err
		}
		defer t.bucket.Close()
		opts := publish.DiffOptions{MaxDeletes: t.cfg.Publish.MaxDeletes, PartCache: t.partCache(g.dir)}
		rules, err := t.headerRules(ctx, &opts)
		if err != nil {
			return "", nil, err
		}
		plan, resume, err := publish.Prepare(ctx, t.bucket, dir, opts)
		if plan == nil {
			return "", nil, err
		}
		defer plan.Close()
		if err != nil {
			return "", nil, err
		}
		report := map[string]any{}
		applyOpts := publish.ApplyOptions{Dir: dir, From: from, Resume: resume, Release: publish.Release{Commit: gitCommit(g.dir)}, HeaderRules: rules}
		if c, ok := from.(publish.Copier); ok {
			applyOpts.Copy = c // the files staged in their published form are copied server-side
		}
		err = t.apply(ctx, &q, plan, applyOpts, false, report)
		rep := distPublish{Target: target, Plan: distPlan{Uploads: plan.Uploads(), Deletes: len(plan.Deletes), Unchanged: plan.Unchanged, Bytes: plan.Bytes}}
		rep.Result, _ = report["result"].(*publish.Result)
		rep.CloudFront, _ = report["invalidations"].([]string)
		data, jerr := json.Marshal(rep)
		if err != nil {
			return "", data, err
		}
		if rep.Result == nil {
			return "", data, errors.New("publish: no result")
		}
		return rep.Result.Release, data, jerr
	}
}

// stagedForms returns, for a worker, how a publish to a target stores
// each file (as target.apply sets it: compression and Cache-Control from
// [publish] of bake.toml), so that shards stage each file in that form,
// to be copied server-side when the build goes live; not to a folder.
func stagedForms(cfg *siteConfig) func(target string) (publish.FormOptions, bool) {
	return func(target string) (publish.FormOptions, bool) {
		scheme, _, _ := strings.Cut(target, "://")
		if scheme == "file" || scheme == "mem" {
			return publish.FormOptions{}, false
		}
		return publish.FormOptions{Compress: cfg.Publish.Compress != "none", Encoding: cfg.Publish.Compress,
			CacheControl: cacheControl(cfg.Publish.CacheControl)}, true
	}
}
