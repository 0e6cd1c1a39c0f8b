// Package jobs is bake's publishing pipeline as durable jobs on River
// (github.com/riverqueue/river): a change becomes a build job, a build that
// succeeded a publish job for each target of the first stage, a publish
// that succeeded the publishes of the next stage (staging, then
// production), and schedules add full builds and verifications of each
// target, with random jitter. Jobs are rows in a database (SQLite embedded,
// or PostgreSQL), so a process killed at any point loses nothing: on
// restart the job runs again, and since builds and publishes converge (a
// build brings the folder up to date, a publish makes the target equal to
// the build), the site does too.
//
// The package knows no SQL, template or bucket: what a build and a publish
// do is the [Site] the caller gives (the command line's bake run wires the
// build engine and the publisher). One [Pipeline] works on any River
// driver.
package jobs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"riverqueue.com/riverui"
)

// Site is what the jobs act on.
type Site interface {
	// Build brings the build folder up to date with what changed (full:
	// every page, whatever changed), and with the changes named (in the
	// form of bake build --changed: "posts:42"), which no row write
	// records (a scheduled row whose time came). An error fails the job,
	// which River retries with backoff; nothing is published after it.
	Build(ctx context.Context, full bool, changed []string) (BuildResult, error)
	// Publish makes the target equal to the build folder (verify: compare
	// with what the target really holds, not with the record of the last
	// publish), invalidating the CDN paths it changed.
	Publish(ctx context.Context, target string, verify bool) (PublishResult, error)
}

// SnapshotPublisher is a [Site] whose publish can stop reading the build
// folder before it ends: once it holds what it uploads (its plan, and the
// bytes of the files it sends), it calls release, and the next build runs
// while it uploads. A Site without it has the folder for its whole publish.
type SnapshotPublisher interface {
	// PublishSnapshot is Publish, calling release (at most once) when it
	// no longer reads the build folder.
	PublishSnapshot(ctx context.Context, target string, verify bool, release func()) (PublishResult, error)
}

// BuildResult is what a build did.
type BuildResult struct {
	Incremental bool
	Pages       int // pages rendered (a full build: every page)
	Written     int // files whose bytes changed
	Removed     int
}

// PublishResult is what a publish did.
type PublishResult struct {
	Uploaded  int
	Deleted   int
	BytesSent int64
	Release   string
}

// Queue is the queue of a site's builds, which run one at a time (two
// builds of one folder must not overlap). PublishQueue is that of its
// publishes, one at a time too. A publish reads the build folder only while
// no build runs (it would find the build changed under it and fail), but a
// [SnapshotPublisher] lets the next build run while it uploads.
const (
	Queue        = "bake"
	PublishQueue = "bake_publish"
)

// handoffWait is how long the build folder waits, after a build that
// enqueued publishes, for one of them to take it before a build may: the
// pages of one build go out before the next build starts, not after it.
const handoffWait = time.Second

// BuildArgs is the build job.
type BuildArgs struct {
	// Full asks for every page to be rendered.
	Full bool `json:"full,omitempty"`
	// Changed names changes no row write records, in the form of bake
	// build --changed ("posts:42"): rows whose scheduled time came.
	Changed []string `json:"changed,omitempty"`
	// At is the Unix time a scheduled build was scheduled for: the same
	// rows scheduled for another time (an embargo moved) are another job.
	At int64 `json:"at,omitempty"`
	// After, if set, is the ID of a running build this one follows: the
	// changes that came while it ran. It makes the job unique apart from
	// the running one (River counts a running job as a duplicate).
	After int64 `json:"after,omitempty"`
	// Publish publishes the build to the first stage even when it
	// changed nothing (see [Pipeline.EnqueueStart]).
	Publish bool `json:"publish,omitempty"`
}

// Kind is the job's kind in River.
func (BuildArgs) Kind() string { return "bake_build" }

// PublishArgs is the publish job of one target.
type PublishArgs struct {
	Target string `json:"target"`
	// Verify compares with what the target holds (a periodic repair).
	Verify bool `json:"verify,omitempty"`
	// After is as BuildArgs.After.
	After int64 `json:"after,omitempty"`
}

// Kind is the job's kind in River.
func (PublishArgs) Kind() string { return "bake_publish" }

// Config configures a [Pipeline].
type Config struct {
	// Stages are the targets published after each build: every target of
	// Stages[0] after a build that succeeded, those of Stages[i+1] after
	// all of Stages[i] succeeded for that build (staging, then production).
	Stages [][]string
	// FullEvery, if set, schedules a full build this often, at a random
	// time within the last tenth of each period, so that many sites never
	// rebuild at the same second.
	FullEvery time.Duration
	// VerifyEvery, if set, schedules a verifying publish of every target
	// this often (with the same jitter), which repairs what changed in a
	// target behind bake's back.
	VerifyEvery time.Duration
	// MaxAttempts is how many times a failing job runs before River
	// discards it. If zero, 10 (with River's exponential backoff and
	// jitter, the last about four hours after the first).
	MaxAttempts int
	// Schema is the database schema of River's tables (PostgreSQL). If
	// empty, the connection's.
	Schema string
	// Metrics, if set, records jobs, durations, pages and bytes.
	Metrics *Metrics
	// Logger receives the jobs' logs, with their job id. If nil, logs are
	// discarded.
	Logger *slog.Logger
	// RiverLogger receives River's own logs. If nil, Logger.
	RiverLogger *slog.Logger
	// Now is the clock. If nil, time.Now. When set, River reads it too
	// (when a scheduled job is due), so a test can move time, or a
	// rehearsal run at another time, and the jobs follow.
	Now func() time.Time
}

// riverClock makes a clock River's: it then never reads the database's.
type riverClock func() time.Time

func (c riverClock) Now() time.Time { return c() }

func (c riverClock) NowOrNil() *time.Time {
	t := c()
	return &t
}

// Pipeline runs the jobs of one site. Create it with [New], [Pipeline.Start]
// it, and [Pipeline.Enqueue] work.
type Pipeline[TTx any] struct {
	client *river.Client[TTx]
	cfg    Config
	log    *slog.Logger
	folder folderLock
	// publishing keeps publishes one at a time, also those an older bake
	// left in Queue; busy says one holds it.
	publishing sync.Mutex
	busy       atomic.Bool
}

// folderLock gives the build folder to a build or to a publish that reads
// it, one at a time. A build that enqueued publishes hands it to the first
// of them that comes within handoffWait.
type folderLock struct {
	free   chan struct{} // holds the token while anyone may take it
	handed chan struct{} // holds it while a publish may take it
}

func newFolderLock() folderLock {
	l := folderLock{free: make(chan struct{}, 1), handed: make(chan struct{}, 1)}
	l.free <- struct{}{}
	return l
}

// build takes the folder for a build.
func (l folderLock) build(ctx context.Context) error {
	select {
	case <-l.free:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publish takes the folder for a publish.
func (l folderLock) publish(ctx context.Context) error {
	select {
	case <-l.handed:
		return nil
	case <-l.free:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives the folder back.
func (l folderLock) release() { l.free <- struct{}{} }

// handOff gives the folder to the next publish, or, if none comes within
// handoffWait, back to anyone.
func (l folderLock) handOff() {
	l.handed <- struct{}{}
	time.AfterFunc(handoffWait, func() {
		select {
		case <-l.handed:
			l.free <- struct{}{}
		default: // a publish took it
		}
	})
}

// New makes a pipeline on driver, whose database must have River's tables
// (see [Migrate]).
func New[TTx any](driver riverdriver.Driver[TTx], site Site, cfg Config) (*Pipeline[TTx], error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var test river.TestConfig
	if cfg.Now == nil {
		cfg.Now = time.Now
	} else {
		test.Time = riverClock(cfg.Now) // River's only hook for its clock
	}
	p := &Pipeline[TTx]{cfg: cfg, log: cfg.Logger, folder: newFolderLock()}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &buildWorker[TTx]{p: p, site: site}); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &publishWorker[TTx]{p: p, site: site}); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	var periodic []*river.PeriodicJob
	if cfg.FullEvery > 0 {
		periodic = append(periodic, river.NewPeriodicJob(jittered(cfg.FullEvery),
			func() (river.JobArgs, *river.InsertOpts) { return BuildArgs{Full: true}, p.buildOpts() },
			&river.PeriodicJobOpts{ID: "bake_full"}))
	}
	if cfg.VerifyEvery > 0 {
		for _, stage := range cfg.Stages {
			for _, t := range stage {
				periodic = append(periodic, river.NewPeriodicJob(jittered(cfg.VerifyEvery),
					func() (river.JobArgs, *river.InsertOpts) {
						return PublishArgs{Target: t, Verify: true}, p.publishOpts()
					}, &river.PeriodicJobOpts{ID: "bake_verify_" + targetID(t)}))
			}
		}
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{Queue: {MaxWorkers: 1}, PublishQueue: {MaxWorkers: 1}},
		Workers:              workers,
		PeriodicJobs:         periodic,
		MaxAttempts:          cfg.MaxAttempts,
		Schema:               cfg.Schema,
		Logger:               cmp.Or(cfg.RiverLogger, cfg.Logger),
		FetchPollInterval:    50 * time.Millisecond,
		FetchCooldown:        20 * time.Millisecond,
		JobTimeout:           -1,               // a full build of a million pages takes minutes
		RescueStuckJobsAfter: 15 * time.Minute, // a killed process's job runs again

		ErrorHandler: &errorHandler{log: cfg.Logger, metrics: cfg.Metrics},
		Test:         test,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	p.client = client
	return p, nil
}

// Client returns the River client, to insert jobs in a transaction of the
// caller's (InsertTx: a change can then never commit without its build
// being recorded) or to list jobs.
func (p *Pipeline[TTx]) Client() *river.Client[TTx] { return p.client }

// Start starts working jobs, until ctx is done or Stop is called.
func (p *Pipeline[TTx]) Start(ctx context.Context) error {
	if err := p.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish and stops.
func (p *Pipeline[TTx]) Stop(ctx context.Context) error {
	return p.client.Stop(ctx)
}

// What a caller may enqueue.
const (
	EnqueueBuild   = "build"   // bring the build up to date, then publish
	EnqueueFull    = "full"    // render every page, then publish
	EnqueuePublish = "publish" // publish the build as it is to the first stage
	EnqueueVerify  = "verify"  // compare every target with the build and repair it
)

// Enqueue records work to do: one of EnqueueBuild, EnqueueFull,
// EnqueuePublish, EnqueueVerify. A build enqueued while an equal one waits
// is that one (a burst of changes makes one build); while one runs, one
// more waits for it.
func (p *Pipeline[TTx]) Enqueue(ctx context.Context, what string) error {
	switch what {
	case EnqueueBuild, EnqueueFull:
		return p.insertOnce(ctx, BuildArgs{Full: what == EnqueueFull}, p.buildOpts(), func(id int64) river.JobArgs {
			return BuildArgs{Full: what == EnqueueFull, After: id}
		})
	case EnqueuePublish, EnqueueVerify:
		if len(p.cfg.Stages) == 0 {
			return errors.New("enqueue publish: no target to publish to; set [publish] url in bake.toml")
		}
		for _, t := range p.cfg.Stages[0] {
			if err := p.enqueuePublish(ctx, t, what == EnqueueVerify); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("enqueue %q: want %s, %s, %s or %s", what, EnqueueBuild, EnqueueFull, EnqueuePublish, EnqueueVerify)
}

// EnqueueStart enqueues what a process that keeps the site live does when
// it starts: a build of whatever changed while it was not there, then a
// publish of every first-stage target, even if the build changed nothing
// (a new target, or one a killed publish left, lacks the build). The
// publish comes after the build, never before: a first build makes the
// folder it reads.
func (p *Pipeline[TTx]) EnqueueStart(ctx context.Context) error {
	publish := len(p.cfg.Stages) > 0
	return p.insertOnce(ctx, BuildArgs{Publish: publish}, p.buildOpts(), func(id int64) river.JobArgs {
		return BuildArgs{Publish: publish, After: id}
	})
}

// EnqueueAt schedules a build at a time to come, of the changes named (in
// the form of bake build --changed): the rows that become visible then. A
// build scheduled for the same time and changes is that one.
func (p *Pipeline[TTx]) EnqueueAt(ctx context.Context, at time.Time, changed []string) error {
	opts := p.buildOpts()
	opts.ScheduledAt = at
	args := BuildArgs{Changed: changed, At: at.Unix()}
	return p.insertOnce(ctx, args, opts, func(id int64) river.JobArgs {
		return BuildArgs{Changed: changed, At: at.Unix(), After: id}
	})
}

func (p *Pipeline[TTx]) enqueuePublish(ctx context.Context, target string, verify bool) error {
	return p.insertOnce(ctx, PublishArgs{Target: target, Verify: verify}, p.publishOpts(), func(id int64) river.JobArgs {
		return PublishArgs{Target: target, Verify: verify, After: id}
	})
}

// uniqueStates are the states in which a job counts as a duplicate of a
// new one. Retryable is left out: a job failing with backoff must not
// hold back the work a new change asks for.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable,
	rivertype.JobStatePending,
	rivertype.JobStateRunning,
	rivertype.JobStateScheduled,
}

func (p *Pipeline[TTx]) buildOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// publishOpts puts publishes in PublishQueue, unique within it: an older
// bake, which works Queue only, then does not take a publish waiting there
// for its own.
func (p *Pipeline[TTx]) publishOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: PublishQueue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByQueue: true, ByState: uniqueStates}}
}

// insertOnce inserts args unless an equal job waits already; when the
// equal job is running, it inserts the job that follows it (after(id)),
// unless that one waits already: at most one job runs and one waits. A job
// left running by a killed process (River rescues it only after
// RescueStuckJobsAfter) is passed over the same way, so it never holds
// back new work.
func (p *Pipeline[TTx]) insertOnce(ctx context.Context, args river.JobArgs, opts *river.InsertOpts, after func(id int64) river.JobArgs) error {
	for range 16 {
		res, err := p.client.Insert(ctx, args, opts)
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
		}
		if !res.UniqueSkippedAsDuplicate || res.Job.State != rivertype.JobStateRunning {
			return nil
		}
		args = after(res.Job.ID)
	}
	return fmt.Errorf("enqueue %s: 16 equal jobs are running", args.Kind())
}

type buildWorker[TTx any] struct {
	river.WorkerDefaults[BuildArgs]
	p    *Pipeline[TTx]
	site Site
}

func (w *buildWorker[TTx]) Work(ctx context.Context, job *river.Job[BuildArgs]) error {
	start := time.Now()
	log := w.p.log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt)
	if err := w.p.folder.build(ctx); err != nil {
		return err
	}
	handed := false
	defer func() {
		if !handed {
			w.p.folder.release()
		}
	}()
	res, err := w.site.Build(ctx, job.Args.Full, job.Args.Changed)
	w.p.cfg.Metrics.observe(job.Kind, time.Since(start), err)
	if err != nil {
		return err // logged by the error handler
	}
	w.p.cfg.Metrics.built(res)
	log.Info("built", "incremental", res.Incremental, "pages", res.Pages, "written", res.Written, "removed", res.Removed, "seconds", time.Since(start).Seconds())
	if len(w.p.cfg.Stages) > 0 && (!res.Incremental || res.Written+res.Removed > 0 || job.Args.Full || job.Args.Publish) {
		for _, t := range w.p.cfg.Stages[0] {
			if err := w.p.enqueuePublish(ctx, t, false); err != nil {
				return err
			}
		}
		// The folder goes to the publishes, unless one is still uploading:
		// the next waits for it, and a build may run meanwhile.
		if !w.p.busy.Load() {
			w.p.folder.handOff()
			handed = true
		}
	}
	return nil
}

type publishWorker[TTx any] struct {
	river.WorkerDefaults[PublishArgs]
	p    *Pipeline[TTx]
	site Site
}

func (w *publishWorker[TTx]) Work(ctx context.Context, job *river.Job[PublishArgs]) error {
	start := time.Now()
	log := w.p.log.With("job", job.ID, "kind", job.Kind, "target", job.Args.Target, "attempt", job.Attempt)
	w.p.publishing.Lock()
	w.p.busy.Store(true)
	defer func() {
		w.p.busy.Store(false)
		w.p.publishing.Unlock()
	}()
	if err := w.p.folder.publish(ctx); err != nil {
		return err
	}
	var once sync.Once
	release := func() { once.Do(w.p.folder.release) }
	defer release()
	var (
		res PublishResult
		err error
	)
	if sp, ok := w.site.(SnapshotPublisher); ok {
		res, err = sp.PublishSnapshot(ctx, job.Args.Target, job.Args.Verify, release)
	} else {
		res, err = w.site.Publish(ctx, job.Args.Target, job.Args.Verify)
	}
	w.p.cfg.Metrics.observe(job.Kind, time.Since(start), err)
	if err != nil {
		return err
	}
	w.p.cfg.Metrics.published(job.Args.Target, res, w.p.cfg.Now())
	log.Info("published", "uploaded", res.Uploaded, "deleted", res.Deleted, "bytes_sent", res.BytesSent, "release", res.Release, "seconds", time.Since(start).Seconds())
	if job.Args.Verify {
		return nil
	}
	// The next stage, once every target of this one has the build.
	for i, stage := range w.p.cfg.Stages {
		if i+1 < len(w.p.cfg.Stages) && slices.Contains(stage, job.Args.Target) {
			for _, t := range w.p.cfg.Stages[i+1] {
				if err := w.p.enqueuePublish(ctx, t, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// targetID names a target in a periodic job's ID, which River allows only
// some characters in (a target is a URL): a digest of it.
func targetID(target string) string {
	sum := sha256.Sum256([]byte(target))
	return hex.EncodeToString(sum[:8])
}

// jittered returns a schedule of every d, at a random time within the
// last tenth of each period.
func jittered(d time.Duration) river.PeriodicSchedule {
	return jitterSchedule{d}
}

type jitterSchedule struct{ every time.Duration }

func (s jitterSchedule) Next(t time.Time) time.Time {
	jitter := time.Duration(rand.Int64N(int64(s.every/10) + 1))
	return t.Add(s.every - jitter)
}

// errorHandler logs a failed job with its id and counts it.
type errorHandler struct {
	log     *slog.Logger
	metrics *Metrics
}

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.log.Error("job failed", "job", job.ID, "kind", job.Kind, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.log.Error("job panicked", "job", job.ID, "kind", job.Kind, "attempt", job.Attempt, "panic", panicVal, "trace", trace)
	return nil
}

// UI returns River's web UI (riverqueue.com/riverui) for the pipeline's
// queue, to mount under prefix ("/riverui"): jobs by state, their
// arguments, errors and attempts, retry and cancel. It runs until ctx is
// done.
func (p *Pipeline[TTx]) UI(ctx context.Context, prefix string) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(p.client, nil),
		Logger:    cmp.Or(p.cfg.RiverLogger, p.log),
		Prefix:    prefix,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs ui: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("jobs ui: %w", err)
	}
	return h, nil
}
