package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/distbuild"
	"github.com/bakehq/bake/jobs"
	"github.com/bakehq/bake/sqlsite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/spf13/cobra"
)

// distFlags are the flags of bake build --distributed.
type distFlags struct {
	on         bool
	to         string
	shardSize  int
	jobsURL    string
	jobsSchema string
	noWait     bool
}

// addDistFlags adds the flags of a distributed build to bake build.
func addDistFlags(cmd *cobra.Command, f *distFlags) {
	cmd.Flags().BoolVar(&f.on, "distributed", false, "render the pages on bake worker processes (any machine sharing the PostgreSQL database and the bucket), then publish: every page, or an update of the build live on the target; see docs/scale-out.md")
	cmd.Flags().StringVar(&f.to, "to", "", "with --distributed: the target bucket every worker uploads to (default: [publish] url of bake.toml)")
	cmd.Flags().IntVar(&f.shardSize, "shard-size", 2000, "with --distributed: about how many pages a shard, or a part of an update, renders (one job)")
	cmd.Flags().StringVar(&f.jobsURL, "jobs-url", "", "with --distributed: postgres:// URL of the job database (default: the site's)")
	cmd.Flags().StringVar(&f.jobsSchema, "jobs-schema", jobsSchema, "with --distributed: PostgreSQL schema of the job tables")
	cmd.Flags().BoolVar(&f.noWait, "no-wait", false, "with --distributed: enqueue the build and return its ID, without waiting for it")
}

// openJobsPool opens the PostgreSQL job database of distributed builds
// (--jobs-url, else the site's database) and creates River's tables and
// the build tables in schema.
func openJobsPool(ctx context.Context, cfg *siteConfig, jobsURL, schema string) (*pgxpool.Pool, error) {
	if jobsURL == "" {
		if u, err := databaseURL(cfg.Database); err == nil && databaseKindOf(u) == sqlsite.Postgres {
			jobsURL = u
		}
	}
	if jobsURL == "" || databaseKindOf(jobsURL) != sqlsite.Postgres {
		return nil, errors.New("a distributed build needs PostgreSQL, which every worker reaches: set [database] url to it, or pass --jobs-url postgres://…")
	}
	pool, err := pgxpool.New(ctx, jobsURL)
	if err != nil {
		return nil, fmt.Errorf("open job database %s: %w", redact(jobsURL), err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open job database %s: %w", redact(jobsURL), err)
	}
	if err := migrateJobs(ctx, pool, schema); err != nil {
		// After migrateJobs let go of its connection: Close waits for
		// every connection acquired.
		pool.Close()
		return nil, fmt.Errorf("open job database %s: %w", redact(jobsURL), err)
	}
	return pool, nil
}

// migrateJobs creates River's tables and the build tables in schema, one
// process at a time (workers starting together would create them at
// once), holding an advisory lock on a connection it releases on return.
func migrateJobs(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	const lock = "bake distributed migrate"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", lock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", lock)
	if err := jobs.Migrate(ctx, riverpgxv5.New(pool), schema); err != nil {
		return err
	}
	return distbuild.Migrate(ctx, pool, schema)
}

// distResult is the JSON report of bake build --distributed.
type distResult struct {
	distbuild.Status
	Seconds        float64         `json:"seconds"`
	PagesPerSecond float64         `json:"pages_per_second"`
	Publish        json.RawMessage `json:"publish,omitempty"`
}

// runDistributed plans a build for bake worker processes, enqueues it,
// and waits until it is live or failed: an update of the build live on
// the target (an incremental build, in parts) when it can, else a full
// build in shards.
func runDistributed(ctx context.Context, g *globals, f buildFlags, d distFlags) error {
	if f.output != "" || f.explain {
		return errors.New("--distributed renders pages straight to the bucket: it takes neither --output nor --explain")
	}
	site, err := openSite(ctx, g.dir, f.workers)
	if err != nil {
		return reportSetupError(g, f.json, err)
	}
	defer site.Close()
	name := d.to
	if name == "" {
		name = site.cfg.Publish.URL
	}
	if name == "" {
		return errors.New("--distributed: no target; set [publish] url in bake.toml or pass --to URL (a bucket every worker reaches)")
	}
	pool, err := openJobsPool(ctx, site.cfg, d.jobsURL, d.jobsSchema)
	if err != nil {
		return err
	}
	defer pool.Close()
	target, err := bucketURL(name)
	if err != nil {
		return err
	}
	planStart := time.Now()
	log := g.logger()
	var changes []bake.Change
	for _, c := range f.changed {
		ch, err := bake.ParseChange(c)
		if err != nil {
			return fmt.Errorf("--changed: %w", err)
		}
		changes = append(changes, ch)
	}
	pending, err := site.pendingChanges(ctx)
	if err != nil {
		return err
	}
	changes = append(changes, pending.changes...)
	upd, reason, err := planDistributedUpdate(ctx, site, pool, d, target, f.full, changes, pending)
	if err != nil {
		return err
	}
	if upd != nil && upd.Parts == 0 {
		// Nothing to render or remove: what was captured is in the live
		// build already.
		if err := site.consume(ctx, pending.ids); err != nil {
			return err
		}
		if !f.quiet {
			fmt.Fprintf(g.stdio.Out, "nothing to build: build %s, live on %s, is up to date\n", upd.Base, name)
		}
		return nil
	}
	var (
		id       string
		estimate int
		jobsN    int
		unit     = "shards"
	)
	if upd != nil {
		estimate, jobsN, unit = upd.pages, upd.Parts, "parts"
		id, err = distbuild.EnqueueUpdate(ctx, pool, d.jobsSchema, target, upd.Update)
		if err != nil {
			return err
		}
		log.Info("distributed update enqueued", "build", id, "base", upd.Base, "parts", upd.Parts, "pages_at_most", estimate, "plan_seconds", time.Since(planStart).Seconds(), "target", name)
	} else {
		if reason != "" && !f.json && !f.quiet {
			log.Info("full build: " + reason)
		}
		shards, err := site.site.Shards(ctx, d.shardSize)
		if err != nil {
			return fmt.Errorf("plan the build: %w", err)
		}
		for _, sh := range shards {
			estimate += sh.Pages
		}
		jobsN = len(shards)
		id, err = distbuild.Enqueue(ctx, pool, d.jobsSchema, target, shards, pending.ids...)
		if err != nil {
			return err
		}
		log.Info("distributed build enqueued", "build", id, "shards", len(shards), "pages_about", estimate, "plan_seconds", time.Since(planStart).Seconds(), "target", name)
	}
	if d.noWait {
		fmt.Fprintln(g.stdio.Out, id)
		return nil
	}
	if !f.json && !f.quiet {
		fmt.Fprintf(g.stdio.Err, "build %s: %d %s enqueued; bake worker processes render them (start one with: bake worker)\n", id, jobsN, unit)
	}
	var pages atomic.Int64
	var phase atomic.Value
	phase.Store("rendering on workers")
	stop := startProgress(ctx, g.stdio.Err, log, !f.json && !f.quiet, progressSpec{verb: "rendering on workers", unit: "pages",
		total: int64(estimate), estimate: true, count: pages.Load, phase: func() string { return phase.Load().(string) }})
	st, err := waitBuild(ctx, pool, d.jobsSchema, id, func(st distbuild.Status) {
		pages.Store(st.Pages)
		if st.State == distbuild.StatePublishing {
			phase.Store("publishing")
		} else {
			phase.Store(fmt.Sprintf("rendering on workers (%d of %d %s)", st.ShardsDone, st.Shards, unit))
		}
	})
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting for build %s, which goes on on the workers: %w", id, err)
		}
		return err
	}
	res := distResult{Status: st, Seconds: st.Elapsed.Seconds(), Publish: st.Result}
	if s := st.Elapsed.Seconds(); s > 0 {
		res.PagesPerSecond = float64(st.Pages) / s
	}
	if f.json {
		if err := writeReport(g.stdio.Out, map[string]any{"build": res}); err != nil {
			return err
		}
	}
	if st.State == distbuild.StateFailed {
		return fmt.Errorf("distributed build %s failed; the release that was live stays live:\n%s", id, st.Error)
	}
	if !f.json && !f.quiet {
		var pub struct {
			Result struct {
				Uploaded  int   `json:"uploaded"`
				Copied    int   `json:"copied"`
				Deleted   int   `json:"deleted"`
				BytesSent int64 `json:"bytes_sent"`
			} `json:"result"`
			Plan struct {
				Unchanged int `json:"unchanged"`
			} `json:"plan"`
		}
		json.Unmarshal(st.Result, &pub)
		verb := "built"
		if upd != nil {
			verb = "updated build " + upd.Base + ":"
		}
		fmt.Fprintf(g.stdio.Out, "%s %d pages (%s) in %d %s on workers and published to %s in %.2fs: %.0f pages/s; %d uploaded (%d copied server-side, %s sent), %d deleted, %d unchanged; release %s\n",
			verb, st.Pages, humanBytes(st.Bytes), st.Shards, unit, name, res.Seconds, res.PagesPerSecond,
			pub.Result.Uploaded, pub.Result.Copied, humanBytes(pub.Result.BytesSent), pub.Result.Deleted, pub.Plan.Unchanged, st.Release)
	}
	return nil
}

// waitBuild polls build id until it is live or failed, calling progress
// with each state read.
func waitBuild(ctx context.Context, pool *pgxpool.Pool, schema, id string, progress func(distbuild.Status)) (distbuild.Status, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := distbuild.ReadStatus(ctx, pool, schema, id)
		if err != nil {
			return st, err
		}
		progress(st)
		if st.State == distbuild.StateLive || st.State == distbuild.StateFailed {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-tick.C:
		}
	}
}

// distUpdate is a planned update of the live build of a target.
type distUpdate struct {
	distbuild.Update
	pages int // at most, rendered or removed
}

// planDistributedUpdate returns the update of the build live on target
// that changes need, in parts of about d.shardSize pages (none when
// nothing needs rendering); or nil and the reason for a full build.
func planDistributedUpdate(ctx context.Context, site *openedSite, pool *pgxpool.Pool, d distFlags, target string, full bool, changes []bake.Change, pending pendingSet) (*distUpdate, string, error) {
	if full {
		return nil, build.ReasonAsked, nil
	}
	base, err := distbuild.LiveBuild(ctx, pool, d.jobsSchema, target)
	if err != nil {
		return nil, "", err
	}
	if base == "" {
		return nil, "no distributed build of the target is live yet", nil
	}
	if !pending.installed && len(changes) == 0 {
		return nil, build.ReasonUnknown, nil
	}
	// The planner keeps the indexes it made in the site folder: the next
	// plan starts from this one and the lines the update changed.
	indexes := &distbuild.IndexCache{Dir: filepath.Join(site.dir, bake.ReservedDir, "dist-indexes"), Keep: 2}
	pages, total, err := distbuild.PlanUpdate(ctx, pool, d.jobsSchema, base, site.site, changes, site.finishOptions(false), "", indexes)
	if errors.Is(err, bake.ErrFullBuild) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	if pages > d.shardSize && pages*4 > total {
		// Most pages change: shards by key ranges cost less than every
		// part planning the update again.
		return nil, build.ReasonManyRows, nil
	}
	u := &distUpdate{Update: distbuild.Update{Base: base, Changes: changes, Capture: pending.ids}, pages: pages}
	if pages > 0 {
		u.Parts = (pages + d.shardSize - 1) / d.shardSize
	}
	return u, "", nil
}
