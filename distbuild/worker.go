package distbuild

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/jobs"
	"github.com/bakehq/bake/publish"
	"github.com/bakehq/bake/sqlsite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"gocloud.dev/blob"
)

// Site renders the pages of one shard (*sqlsite.Site does).
type Site interface {
	ShardPages(ctx context.Context, sh sqlsite.Shard) iter.Seq2[*bake.Page, error]
}

// Publisher publishes the build folder dir, which holds a build's index
// only, to target, as bake publish does, reading the files from from; it
// returns the release recorded and a report (JSON) to keep with the build.
type Publisher func(ctx context.Context, target, dir string, from publish.Source) (release string, report []byte, err error)

// Config configures a [Worker].
type Config struct {
	Pool   *pgxpool.Pool
	Schema string // of River's tables and the build tables
	Site   Site
	// Finish is what is done to each page once rendered, as in a build
	// ([build] of bake.toml).
	Finish build.FinishOptions
	// OpenBucket opens the bucket of a build's target URL.
	OpenBucket func(ctx context.Context, url string) (*blob.Bucket, error)
	Publish    Publisher
	// Forms, if set, returns how a publish to target stores a file (its
	// compression and headers), and whether the files may be staged in
	// that published form, to be copied to their keys server-side when
	// the build goes live (not on a folder: see publish.Copier).
	Forms func(target string) (publish.FormOptions, bool)
	// CopyPart is how many objects one part of the copies that make a
	// build live holds. If zero, 1,000.
	CopyPart int
	// Name names the worker in the shards it records and in River (the
	// attempted_by of its jobs). If empty, host:pid.
	Name string
	// Uploads is the number of pages rendered and uploaded at once. If
	// zero, 16 (uploads wait on the network, renders on the CPU).
	Uploads int
	// ShardTimeout bounds a shard's job. If zero, 10 minutes.
	ShardTimeout time.Duration
	// RescueAfter is how long a job may run before River's rescuer gives
	// it to another worker (its worker is taken for dead). It must exceed
	// ShardTimeout and the longest publish. If zero, 30 minutes.
	RescueAfter time.Duration
	// TempDir holds the index a finishing job writes. If empty, the
	// system's.
	TempDir string
	// Indexes, if set, keeps the indexes of recent builds on this machine
	// for the parts and publishes of updates (see IndexCache); without
	// it, each reads every manifest line of its base from PostgreSQL.
	Indexes *IndexCache
	// Consume, if set, deletes the changes change capture recorded that a
	// build that went live applied (their IDs, recorded with the build).
	Consume func(ctx context.Context, ids []int64) error
	Metrics *jobs.ShardMetrics
	Logger  *slog.Logger
	// RiverLogger receives River's own logs. If nil, Logger.
	RiverLogger *slog.Logger
}

// Worker claims the shards and finishing jobs of distributed builds.
type Worker struct {
	cfg    Config
	store  store
	client *river.Client[pgx.Tx]

	mu      sync.Mutex
	buckets map[string]*blob.Bucket
}

// NewWorker makes a worker; the database must have River's tables and
// the build tables (see [Migrate]).
func NewWorker(cfg Config) (*Worker, error) {
	cfg.Uploads = cmp.Or(cfg.Uploads, 16)
	cfg.CopyPart = cmp.Or(cfg.CopyPart, 1000)
	cfg.ShardTimeout = cmp.Or(cfg.ShardTimeout, 10*time.Minute)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, 30*time.Minute)
	if cfg.RescueAfter <= cfg.ShardTimeout {
		return nil, fmt.Errorf("worker: the time after which a job is rescued (%s) must be longer than the shard timeout (%s)", cfg.RescueAfter, cfg.ShardTimeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	w := &Worker{cfg: cfg, store: newStore(cfg.Pool, cfg.Schema), buckets: map[string]*blob.Bucket{}}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &shardWorker{w: w}); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &finishWorker{w: w}); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &copyWorker{w: w}); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		// One shard at a time: a shard renders on every core.
		Queues:               map[string]river.QueueConfig{Queue: {MaxWorkers: 1}},
		ID:                   cfg.Name, // in the jobs it works (attempted_by)
		Workers:              workers,
		Schema:               cfg.Schema,
		Logger:               cmp.Or(cfg.RiverLogger, cfg.Logger),
		FetchPollInterval:    50 * time.Millisecond,
		FetchCooldown:        20 * time.Millisecond,
		JobTimeout:           cfg.ShardTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	w.client = client
	return w, nil
}

// Start starts claiming jobs, until ctx is done or Stop is called.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.client.Start(ctx); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	return nil
}

// Stop waits for the running job to finish (or ctx to end) and stops,
// closing the buckets it opened.
func (w *Worker) Stop(ctx context.Context) error {
	err := w.client.Stop(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.buckets {
		b.Close()
	}
	return err
}

// Client returns the River client, for the queue's metrics.
func (w *Worker) Client() *river.Client[pgx.Tx] { return w.client }

func (w *Worker) bucket(ctx context.Context, url string) (*blob.Bucket, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := w.buckets[url]; b != nil {
		return b, nil
	}
	b, err := w.cfg.OpenBucket(ctx, url)
	if err != nil {
		return nil, err
	}
	w.buckets[url] = b
	return b, nil
}

type shardWorker struct {
	river.WorkerDefaults[ShardArgs]
	w *Worker
}

// shardResult is what rendering a shard made.
type shardResult struct {
	rows     [][]any // build, path, shard, line ("" for a page an update removed)
	pages    int
	bytes    int64
	problems []*bake.Error
	state    map[string]string // the site's values after the shard (see bake.Updater.State)
	phases   []any             // seconds of its phases, for the log: name, seconds, …
}

func (sw *shardWorker) Work(ctx context.Context, job *river.Job[ShardArgs]) error {
	w, a := sw.w, job.Args
	log := w.cfg.Logger.With("job", job.ID, "build", a.Build, "shard", a.Index, "attempt", job.Attempt)
	st, err := w.store.status(ctx, w.cfg.Pool, a.Build)
	if errors.Is(err, ErrNoBuild) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if st.State != StateRunning {
		log.Info("shard skipped: the build is " + st.State)
		return nil
	}
	start := time.Now()
	var res *shardResult
	if a.Part != nil {
		res, err = sw.update(ctx, st.Target, a)
	} else {
		res, err = sw.render(ctx, st.Target, a)
	}
	if err == nil && len(res.problems) > 0 {
		w.cfg.Metrics.Shard("problems", time.Since(start), 0, 0)
		msg := problemsText(fmt.Sprintf("shard %d (%s)", a.Index, a.spec()), res.problems)
		log.Error("shard has problems: the build fails", "problems", len(res.problems))
		if ferr := w.store.fail(ctx, a.Build, msg); ferr != nil {
			return ferr
		}
		return river.JobCancel(errors.New(msg))
	}
	if err == nil {
		err = sw.record(ctx, job, res, time.Since(start))
	}
	var dup *duplicateError
	if errors.As(err, &dup) {
		w.cfg.Metrics.Shard("problems", time.Since(start), 0, 0)
		if ferr := w.store.fail(ctx, a.Build, dup.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	if err != nil {
		w.cfg.Metrics.Shard("error", time.Since(start), 0, 0)
		if job.Attempt >= job.MaxAttempts {
			msg := fmt.Sprintf("shard %d (%s) failed %d times, the last: %v", a.Index, a.spec(), job.Attempt, err)
			if ferr := w.store.fail(context.WithoutCancel(ctx), a.Build, msg); ferr != nil {
				log.Error("could not record the failure of the build", "err", ferr)
			}
		}
		return fmt.Errorf("shard %d (%s): %w", a.Index, a.spec(), err)
	}
	w.cfg.Metrics.Shard("ok", time.Since(start), res.pages, res.bytes)
	log.Info("shard done", append([]any{"pages", res.pages, "seconds", time.Since(start).Seconds()}, res.phases...)...)
	return nil
}

// problemsText lists the problems of what (a shard), at most 20 of them.
func problemsText(what string, probs []*bake.Error) string {
	slices.SortFunc(probs, func(x, y *bake.Error) int {
		return cmp.Or(cmp.Compare(x.Route, y.Route), cmp.Compare(x.Path, y.Path), cmp.Compare(x.Key, y.Key))
	})
	var b strings.Builder
	noun := "problems"
	if len(probs) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(&b, "%s: %d %s", what, len(probs), noun)
	for i, p := range probs {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(probs)-20)
			break
		}
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

// render renders the shard's pages and uploads each file to the bucket
// of target under its SHA-256, with cfg.Uploads pages at once.
func (sw *shardWorker) render(ctx context.Context, target string, a ShardArgs) (*shardResult, error) {
	w := sw.w
	bucket, forms, formed, err := w.stagingTarget(ctx, target)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		res      = &shardResult{}
		seen     = map[string]*bake.Page{}
		firstErr error
	)
	problem := func(p *bake.Page, err error) {
		var be *bake.Error
		if !errors.As(err, &be) {
			be = &bake.Error{Err: err}
		}
		if p != nil {
			be.Route, be.Path, be.Key = cmp.Or(be.Route, p.Route), cmp.Or(be.Path, p.Path), cmp.Or(be.Key, p.Key)
		}
		mu.Lock()
		res.problems = append(res.problems, be)
		mu.Unlock()
	}
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	pages := make(chan *bake.Page)
	var wg sync.WaitGroup
	for range w.cfg.Uploads {
		wg.Go(func() {
			r := build.NewPageRenderer(w.cfg.Finish)
			for p := range pages {
				if ctx.Err() != nil {
					continue
				}
				data, e, line, err := r.Render(ctx, p)
				if err != nil {
					problem(p, err)
					continue
				}
				if err := w.stageFile(ctx, bucket, e, data, r.Siblings(), forms, formed); err != nil {
					fail(fmt.Errorf("stage %s: %w", p.Path, err))
					continue
				}
				mu.Lock()
				res.rows = append(res.rows, []any{a.Build, e.Path, a.Index, string(line)}) // copied: line is reused
				res.pages++
				res.bytes += e.Size
				mu.Unlock()
			}
		})
	}
	for p, err := range w.cfg.Site.ShardPages(ctx, a.Shard) {
		if err != nil {
			if ctx.Err() == nil {
				problem(p, err)
			}
			continue
		}
		if first := seen[p.Path]; first != nil {
			problem(p, fmt.Errorf("two pages at %s: route %s (key %q) and route %s (key %q); give one of them another path", p.Path, first.Route, first.Key, p.Route, p.Key))
			continue
		}
		seen[p.Path] = &bake.Page{Route: p.Route, Key: p.Key}
		select {
		case pages <- p:
		case <-ctx.Done():
		}
	}
	close(pages)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if st, ok := w.cfg.Site.(interface{ State() map[string]string }); ok {
		res.state = st.State()
	}
	return res, nil
}

// stagingTarget opens the bucket of target and says how a publish to it
// stores a file, and whether files are staged in that published form
// (see Config.Forms).
func (w *Worker) stagingTarget(ctx context.Context, target string) (*blob.Bucket, publish.FormOptions, bool, error) {
	bucket, err := w.bucket(ctx, target)
	if err != nil {
		return nil, publish.FormOptions{}, false, err
	}
	var forms publish.FormOptions
	formed := false
	if w.cfg.Forms != nil {
		forms, formed = w.cfg.Forms(target)
	}
	return bucket, forms, formed, nil
}

// stageFile stages the file of e, whose bytes are data and precompressed
// siblings sibs: in its published form when formed (the form replaces the
// file and its siblings, since a publish sends the sibling of its coding,
// which is in the form already: one object a file; a redirect is uploaded
// by the publish, S3 not copying its location, so its file is staged
// too), else the file and its siblings as they are.
func (w *Worker) stageFile(ctx context.Context, bucket *blob.Bucket, e bake.Entry, data []byte, sibs []precompress.Sibling, forms publish.FormOptions, formed bool) error {
	if formed {
		err := stageForm(ctx, bucket, e, data, sibs, forms)
		if err == nil && e.Redirect != "" {
			err = stage(ctx, bucket, StagedKey(e.SHA256), data, nil)
		}
		return err
	}
	err := stage(ctx, bucket, StagedKey(e.SHA256), data, nil)
	for _, sib := range sibs {
		if err == nil {
			err = stage(ctx, bucket, siblingKey(e.SHA256, w.cfg.Finish, sib.Ext), sib.Data, nil)
		}
	}
	return err
}

// stageForm stages the file of e, whose bytes are data, in the form a
// publish with options o stores it (its body and headers: see
// publish.Published), for the finishing job to copy it to its key
// server-side.
func stageForm(ctx context.Context, bucket *blob.Bucket, e bake.Entry, data []byte, sibs []precompress.Sibling, o publish.FormOptions) error {
	key, pe, err := publish.PlanEntry(e)
	if err != nil {
		return err
	}
	sibling := func(cd string) ([]byte, bool) {
		for _, s := range sibs {
			if s.Coding == cd {
				return s.Data, true
			}
		}
		return nil, false
	}
	body, wo, err := publish.Published(publish.Change{Key: key, Entry: pe}, data, sibling, o)
	if err != nil {
		return err
	}
	return stage(ctx, bucket, formKey(e.SHA256, publish.FormDigest(wo)), body, wo)
}

// stage uploads data to key, named by its content, unless it is there
// already (an earlier build, or an earlier try of the shard, sent it) and
// new enough that bake prune keeps it until this build is live (see
// publish.StagedRefresh), with retries; with the headers wo, if set.
func stage(ctx context.Context, bucket *blob.Bucket, key string, data []byte, wo *blob.WriterOptions) error {
	if wo == nil {
		wo = &blob.WriterOptions{ContentType: "application/octet-stream", CacheControl: "no-store", DisableContentTypeDetection: true}
	}
	return withRetries(ctx, func(ctx context.Context) (bool, error) {
		if a, err := bucket.Attributes(ctx, key); err == nil && time.Since(a.ModTime) < publish.StagedRefresh {
			return true, nil
		}
		return false, bucket.WriteAll(ctx, key, data, wo)
	})
}

// withRetries runs try up to five times, each under a two-minute timeout,
// 100 ms apart and doubling, until it returns no error or final (trying
// again would not help), or ctx is done.
func withRetries(ctx context.Context, try func(ctx context.Context) (final bool, err error)) error {
	wait := 100 * time.Millisecond
	var err error
	for n := 0; n < 5; n++ {
		if n > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
			wait *= 2
		}
		tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		var final bool
		final, err = try(tctx)
		cancel()
		if err == nil || final || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// duplicateError is two shards making a page at one path.
type duplicateError struct{ msg string }

func (e *duplicateError) Error() string { return e.msg }

// record stores the shard's manifest lines and marks it done, in the
// transaction that completes its job; the shard that completes the build
// enqueues the finishing job in it too. A shard recorded already (by a
// worker taken for dead, which was not) is not recorded again.
func (sw *shardWorker) record(ctx context.Context, job *river.Job[ShardArgs], res *shardResult, took time.Duration) error {
	w, a := sw.w, job.Args
	s := w.store
	tx, err := w.cfg.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var done bool
	if err := tx.QueryRow(ctx, `SELECT done FROM `+s.t("bake_dist_shards")+` WHERE build = $1 AND shard = $2 FOR UPDATE`, a.Build, a.Index).Scan(&done); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if !done {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.name, "bake_dist_entries"}, []string{"build", "path", "shard", "line"}, pgx.CopyFromRows(res.rows)); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				tx.Rollback(ctx)
				return sw.duplicates(ctx, a, res)
			}
			return fmt.Errorf("record: %w", err)
		}
		var values []byte
		if res.state != nil {
			if values, err = json.Marshal(res.state); err != nil {
				return fmt.Errorf("record: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE `+s.t("bake_dist_shards")+` SET done = true, pages = $3, seconds = $4, worker = $5, state = $6 WHERE build = $1 AND shard = $2`,
			a.Build, a.Index, res.pages, took.Seconds(), w.cfg.Name, nullJSON(values)); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		var n, total int
		var state string
		if err := tx.QueryRow(ctx, `UPDATE `+s.t("bake_dist_builds")+` SET shards_done = shards_done + 1, pages = pages + $2, bytes = bytes + $3
			WHERE id = $1 RETURNING shards_done, shards, state`, a.Build, res.pages, res.bytes).Scan(&n, &total, &state); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		if n == total && state == StateRunning {
			if _, err := w.client.InsertTx(ctx, tx, FinishArgs{Build: a.Build}, nil); err != nil {
				return fmt.Errorf("record: enqueue the publish: %w", err)
			}
		}
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// duplicates returns the error naming the pages of this shard that other
// shards made already.
func (sw *shardWorker) duplicates(ctx context.Context, a ShardArgs, res *shardResult) error {
	s := sw.w.store
	paths := make([]string, len(res.rows))
	mine := map[string]string{}
	for i, r := range res.rows {
		paths[i] = r[1].(string)
		mine[paths[i]] = r[3].(string)
	}
	rows, err := sw.w.cfg.Pool.Query(ctx, `SELECT path, line FROM `+s.t("bake_dist_entries")+` WHERE build = $1 AND path = ANY($2) ORDER BY path LIMIT 20`, a.Build, paths)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var p, line string
		if err := rows.Scan(&p, &line); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		var theirs, ours bake.Entry
		json.Unmarshal([]byte(line), &theirs)
		json.Unmarshal([]byte(mine[p]), &ours)
		fmt.Fprintf(&b, "\n  two pages at %s: route %s (key %q) and route %s (key %q); give one of them another path", p, theirs.Route, theirs.Key, ours.Route, ours.Key)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if b.Len() == 0 {
		return errors.New("record: a page of this shard was recorded by another at the same moment; trying again")
	}
	return &duplicateError{msg: fmt.Sprintf("shard %d (%s): pages at paths other shards made:%s", a.Index, a.spec(), b.String())}
}

// nullJSON returns b as a JSON parameter: NULL when nil.
func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
