package cli

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/capture"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/jobs"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/publish"
	"github.com/bakehq/bake/sqlsite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/spf13/cobra"
)

type runFlags struct {
	addr        string
	to          []string
	then        []string
	jobsURL     string
	jobsSchema  string
	tokenEnv    string
	fullEvery   time.Duration
	verifyEvery time.Duration
	poll        time.Duration
	debounce    time.Duration
}

// jobsSchema is the PostgreSQL schema of bake's job tables: never the
// site's own.
const jobsSchema = "bake_jobs"

func runCmd(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Keep the site live: build and publish every change, as durable jobs",
		Long: `Run is one long-running process that keeps a site live. Captured row changes
and edits to templates, static files and bake.toml become build jobs; a
build that succeeded becomes a publish job for each target (--to, default
[publish] url of bake.toml), and a publish that succeeded the publishes of
the next stage (--then: staging first, production after it). Schedules add
a full build (--full-every) and a verifying publish of each target
(--verify-every), each at a random time in the last tenth of its period.

Jobs are rows in a database, so a process killed at any point loses
nothing: on restart the job runs again, and the site converges. They are
kept in .bake/jobs.db in the site folder (SQLite, nothing to install), or,
when the site's database is PostgreSQL or --jobs-url says so, in the
schema bake_jobs of that PostgreSQL database. A failing job is retried
with exponential backoff and jitter (10 attempts over about four hours);
a build that fails publishes nothing.

Row changes are seen through change capture: run bake watch --install
once, or every row change makes a full build.

On --addr (loopback by default) it serves:
  /metrics        Prometheus metrics, named bake_*
  /healthz        200 while the process runs
  /riverui/       River's web UI: the jobs, their state, errors and attempts
  POST /enqueue/build, /enqueue/full, /enqueue/publish, /enqueue/verify
                  for a CMS webhook, with the header
                  Authorization: Bearer $BAKE_RUN_TOKEN (refused without it)

bake enqueue does the same from a shell.`,
		Example: `  bake watch --install          # once: capture row changes
  bake run                        # build and publish every change to [publish] url
  bake run --to ./staging --then s3://www-example-org?region=eu-west-1
  BAKE_RUN_TOKEN=s3cret bake run --addr 127.0.0.1:8765
  curl -X POST -H "Authorization: Bearer s3cret" http://127.0.0.1:8765/enqueue/build`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), g, f)
		},
	}
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8765", "address of the metrics, health and webhook endpoints, HOST:PORT")
	cmd.Flags().StringSliceVar(&f.to, "to", nil, "targets published after each build (default: [publish] url of bake.toml)")
	cmd.Flags().StringSliceVar(&f.then, "then", nil, "targets published once every --to target has the build (production after staging)")
	cmd.Flags().StringVar(&f.jobsURL, "jobs-url", "", "postgres:// URL of the job database (default: the site's, if PostgreSQL; else .bake/jobs.db)")
	cmd.Flags().StringVar(&f.jobsSchema, "jobs-schema", jobsSchema, "PostgreSQL schema of the job tables")
	cmd.Flags().StringVar(&f.tokenEnv, "token-env", "BAKE_RUN_TOKEN", "environment variable holding the token of POST /enqueue/...")
	cmd.Flags().DurationVar(&f.fullEvery, "full-every", 24*time.Hour, "schedule a full build this often (0: never)")
	cmd.Flags().DurationVar(&f.verifyEvery, "verify-every", 6*time.Hour, "schedule a verifying publish of every target this often (0: never)")
	cmd.Flags().DurationVar(&f.poll, "poll", 250*time.Millisecond, "how often to look for row changes on SQLite, and for file edits where the file system gives no events")
	cmd.Flags().DurationVar(&f.debounce, "debounce", 100*time.Millisecond, "after a change, wait this long for more before enqueuing a build")
	return cmd
}

func enqueueCmd(g *globals) *cobra.Command {
	var jobsURL, schema string
	cmd := &cobra.Command{
		Use:   "enqueue build|full|publish|verify",
		Short: "Ask bake run to build or publish, through its job database",
		Long: `Enqueue records a job for bake run in the site's job database (see bake run
-h): build brings the build up to date and publishes it, full renders every
page first, publish publishes the build as it is, verify compares every
target with the build and repairs it. The job waits for bake run if it is
not running. A job enqueued while an equal one waits is that one.`,
		Example: `  bake enqueue build
  bake enqueue full -C mysite`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{jobs.EnqueueBuild, jobs.EnqueueFull, jobs.EnqueuePublish, jobs.EnqueueVerify},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := loadConfig(g.dir)
			if err != nil {
				return reportSetupError(g, false, err)
			}
			p, closeDB, err := openPipeline(ctx, g, cfg, jobsURL, schema, nil, jobs.Config{Stages: stagesOf(cfg, nil, nil)})
			if err != nil {
				return err
			}
			defer closeDB()
			if err := p.Enqueue(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdio.Out, "enqueued %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&jobsURL, "jobs-url", "", "postgres:// URL of the job database (as bake run's)")
	cmd.Flags().StringVar(&schema, "jobs-schema", jobsSchema, "PostgreSQL schema of the job tables (as bake run's)")
	return cmd
}

// stagesOf returns the publish stages: to (default [publish] url), then
// then.
func stagesOf(cfg *siteConfig, to, then []string) [][]string {
	if len(to) == 0 && cfg.Publish.URL != "" {
		to = []string{cfg.Publish.URL}
	}
	var stages [][]string
	if len(to) > 0 {
		stages = append(stages, to)
	}
	if len(then) > 0 {
		stages = append(stages, then)
	}
	return stages
}

// pipeline is a jobs.Pipeline on either driver.
type pipeline interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Enqueue(ctx context.Context, what string) error
	EnqueueStart(ctx context.Context) error
	EnqueueAt(ctx context.Context, at time.Time, changed []string) error
	UI(ctx context.Context, prefix string) (http.Handler, error)
	Collector() prometheus.Collector
}

// openPipeline opens the job database (creating River's tables) and
// makes the pipeline on it; the function returned closes the database.
func openPipeline(ctx context.Context, g *globals, cfg *siteConfig, jobsURL, schema string, site jobs.Site, jc jobs.Config) (pipeline, func(), error) {
	if site == nil {
		site = noSite{}
	}
	if jobsURL == "" {
		if u, err := databaseURL(cfg.Database); err == nil && databaseKindOf(u) == sqlsite.Postgres {
			jobsURL = u
		}
	}
	if jobsURL != "" {
		pool, err := pgxpool.New(ctx, jobsURL)
		if err != nil {
			return nil, nil, fmt.Errorf("open job database %s: %w", redact(jobsURL), err)
		}
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("open job database %s: %w", redact(jobsURL), err)
		}
		driver := riverpgxv5.New(pool)
		jc.Schema = schema
		if err := jobs.Migrate(ctx, driver, schema); err != nil {
			pool.Close()
			return nil, nil, err
		}
		p, err := jobs.New(driver, site, jc)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return p, pool.Close, nil
	}
	dir := filepath.Join(g.dir, bake.ReservedDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("open job database: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(normal)")
	if err != nil {
		return nil, nil, fmt.Errorf("open job database: %w", err)
	}
	db.SetMaxOpenConns(1) // SQLite writes one at a time; River's driver asks for it
	driver := riversqlite.New(db)
	if err := jobs.Migrate(ctx, driver, ""); err != nil {
		db.Close()
		return nil, nil, err
	}
	p, err := jobs.New(driver, site, jc)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, func() { db.Close() }, nil
}

// databaseKindOf returns sqlsite.Postgres for a PostgreSQL URL or keyword
// string, else sqlsite.SQLite.
func databaseKindOf(u string) string {
	if kind, err := databaseKind(u); err == nil {
		return kind
	}
	return sqlsite.SQLite
}

// noSite refuses work: a pipeline that only enqueues (bake enqueue).
type noSite struct{}

func (noSite) Build(context.Context, bool, []string) (jobs.BuildResult, error) {
	return jobs.BuildResult{}, errors.New("bake enqueue does not build")
}

func (noSite) Publish(context.Context, string, bool) (jobs.PublishResult, error) {
	return jobs.PublishResult{}, errors.New("bake enqueue does not publish")
}

// runSite is the site bake run builds and publishes: the same engine and
// publisher as bake build and bake publish.
type runSite struct {
	g   *globals
	out string // the build folder
	// schedule, once the pipeline exists, enqueues the build of the
	// scheduled rows that appear next (see [[jobs.schedule]]).
	schedule *func(ctx context.Context, at time.Time, changed []string) error
	// parts keeps the manifest parts last published to each target in
	// memory, for the next publish (see publish.PartMemory).
	parts *sync.Map // target → *publish.PartMemory
}

// partMemory returns the parts kept for target.
func (s runSite) partMemory(target string) *publish.PartMemory {
	if s.parts == nil {
		return nil
	}
	m, _ := s.parts.LoadOrStore(target, &publish.PartMemory{})
	return m.(*publish.PartMemory)
}

func (s runSite) quiet() *globals {
	q := *s.g
	q.stdio = Stdio{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: logWriter{s.g.logger()}}
	return &q
}

func (s runSite) Build(ctx context.Context, full bool, changed []string) (jobs.BuildResult, error) {
	q := s.quiet()
	// When the build there was made: rows scheduled since then are due.
	var built time.Time
	if fi, err := os.Stat(filepath.Join(s.out, filepath.FromSlash(output.IndexFile))); err == nil {
		built = fi.ModTime()
	}
	r, err := rebuild(ctx, q, buildFlags{quiet: true, full: full, wait: true, changed: changed}, false)
	if r != nil {
		defer r.site.Close()
	}
	if r == nil || r.rep == nil {
		return jobs.BuildResult{}, err
	}
	if err == nil && s.schedule != nil && *s.schedule != nil {
		if err := scheduleRows(ctx, r.site, built, *s.schedule); err != nil {
			return jobs.BuildResult{}, err
		}
	}
	printProblems(q.stdio.Err, r.rep.Problems)
	res := jobs.BuildResult{Incremental: r.rep.Incremental, Pages: r.rep.Pages, Written: r.rep.Written, Removed: r.rep.Removed}
	if r.rep.Incremental {
		res.Pages = r.rep.Rendered
	}
	return res, err
}

func (s runSite) Publish(ctx context.Context, target string, verify bool) (jobs.PublishResult, error) {
	return s.PublishSnapshot(ctx, target, verify, nil)
}

// Bounds of the copy of a publish's files (see [runSite.PublishSnapshot]):
// past them, the publish reads the build folder, which waits for it.
const (
	snapshotFiles = 20_000
	snapshotBytes = 256 << 20
	// snapshotPartBytes is how many bytes of manifest parts a publish of
	// bake run keeps in memory: all of them, at 1,000,000 pages.
	snapshotPartBytes = 128 << 20
)

// PublishSnapshot publishes as bake publish does, but once the plan is
// made it copies the files to upload (and their precompressed siblings)
// into memory, calls release and uploads the copy: the next build runs
// meanwhile. The copy is made while no build runs, and each file is
// checked against the plan's SHA-256 as it is sent, so a build never goes
// out half. A large plan (a full build's), or one whose manifest parts
// the plan did not keep, is published from the folder, which the build
// waits for.
func (s runSite) PublishSnapshot(ctx context.Context, target string, verify bool, release func()) (jobs.PublishResult, error) {
	q := s.quiet()
	start := time.Now()
	f := publishFlags{to: target, json: true, verify: verify, memory: s.partMemory(target)}
	if release != nil {
		f.keepPartBytes = snapshotPartBytes
		f.snapshot = func(plan *publish.Plan, out string) publish.Source {
			snap, err := snapshotPlan(plan, out)
			if err != nil {
				s.g.logger().Debug("publish from the build folder", "why", err)
				return nil
			}
			release()
			s.g.logger().Debug("publish: plan made, files copied, build folder released", "target", target,
				"uploads", plan.Uploads(), "deletes", len(plan.Deletes), "seconds", time.Since(start).Seconds())
			return snap
		}
	}
	err := runPublish(ctx, q, f)
	var report struct {
		Result *struct {
			Uploaded  int    `json:"uploaded"`
			Deleted   int    `json:"deleted"`
			BytesSent int64  `json:"bytes_sent"`
			Release   string `json:"release"`
		} `json:"result"`
	}
	if out := q.stdio.Out.(*bytes.Buffer).Bytes(); len(out) > 0 {
		json.Unmarshal(out, &report)
	}
	if err != nil {
		return jobs.PublishResult{}, fmt.Errorf("publish to %s: %w", target, err)
	}
	var res jobs.PublishResult
	if r := report.Result; r != nil {
		res = jobs.PublishResult{Uploaded: r.Uploaded, Deleted: r.Deleted, BytesSent: r.BytesSent, Release: r.Release}
	}
	return res, nil
}

// snapshot is a copy of the files a publish uploads, by key.
type snapshot map[string][]byte

func (m snapshot) File(key string, e bake.Entry) ([]byte, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("publish: %s is not in the copy of the build", key)
	}
	return b, nil
}

// Sibling returns a precompressed sibling of key (ext ".gz", ".br").
func (m snapshot) Sibling(key, ext string) ([]byte, error) {
	return m.File(key+ext, bake.Entry{})
}

// snapshotPlan copies the files plan uploads from the build folder out,
// unless the plan is too large for it or keeps not every manifest part.
func snapshotPlan(plan *publish.Plan, out string) (snapshot, error) {
	if n := plan.Uploads(); n > snapshotFiles {
		return nil, fmt.Errorf("%d files to upload, more than %d", n, snapshotFiles)
	}
	if plan.Bytes > snapshotBytes {
		return nil, fmt.Errorf("%d bytes to upload, more than %d", plan.Bytes, snapshotBytes)
	}
	if !plan.PartsKept() {
		return nil, errors.New("the plan did not keep every manifest part")
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	snap := snapshot{}
	var size int64
	for c, err := range plan.UploadList() {
		if err != nil {
			return nil, err
		}
		keys := []string{c.Key}
		for _, cd := range c.Entry.Encodings {
			if ext := precompress.Ext(cd); ext != "" {
				keys = append(keys, c.Key+ext)
			}
		}
		for i, k := range keys {
			b, err := root.ReadFile(filepath.FromSlash(k))
			if err != nil {
				if i > 0 {
					continue // a sibling the publish makes again
				}
				return nil, err
			}
			if size += int64(len(b)); size > snapshotBytes {
				return nil, fmt.Errorf("more than %d bytes to upload", snapshotBytes)
			}
			snap[k] = b
		}
	}
	return snap, nil
}

// scheduleRows enqueues, for each [[jobs.schedule]] rule, a build at the
// next time a row of its table appears (its column, past the time of the
// build that just ran: the :now of its queries), naming the rows that
// appear then. A build scheduled alike is
// that one, so each build may call it. Rows whose time came since the
// last call (bake run was down, or a build ran late) are built at once:
// the time of each call is kept in .bake/schedule.json; before the first,
// built (when the build folder's build was made) stands for it.
func scheduleRows(ctx context.Context, site *openedSite, built time.Time, enqueueAt func(context.Context, time.Time, []string) error) error {
	if len(site.cfg.Jobs.Schedule) == 0 {
		return nil
	}
	// The time the build's :now read, in the form CURRENT_TIMESTAMP has
	// in the database: UTC text to the second on SQLite.
	var now any = site.now
	if site.dialect == sqlsite.SQLite {
		now = site.now.UTC().Format("2006-01-02 15:04:05")
	}
	stateFile := filepath.Join(site.dir, bake.ReservedDir, "schedule.json")
	last := map[string]string{} // rule → the database's clock at the last call
	if b, err := os.ReadFile(stateFile); err == nil {
		json.Unmarshal(b, &last)
	}
	nowText := fmt.Sprint(now)
	if t, ok := now.(time.Time); ok {
		nowText = t.UTC().Format(time.RFC3339Nano)
	}
	for _, rule := range site.cfg.Jobs.Schedule {
		key := rule.Key
		if key == "" {
			key = "id"
		}
		tbl, col, k := pgx.Identifier{rule.Table}.Sanitize(), pgx.Identifier{rule.Column}.Sanitize(), pgx.Identifier{key}.Sanitize()
		ph := func(n int) string {
			if site.dialect == sqlsite.Postgres {
				return fmt.Sprintf("$%d", n)
			}
			return "?"
		}
		keysWhere := func(where string, args ...any) ([]string, error) {
			rows, err := site.db.QueryContext(ctx, "SELECT "+k+" FROM "+tbl+" WHERE "+where, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var changed []string
			for rows.Next() {
				var v any
				if err := rows.Scan(&v); err != nil {
					return nil, err
				}
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				changed = append(changed, fmt.Sprintf("%s:%v", rule.Table, v))
			}
			return changed, rows.Err()
		}
		id := rule.Table + "." + rule.Column
		var was any
		if w, ok := last[id]; ok {
			was = w
		} else if !built.IsZero() {
			// No look yet: rows whose time came since the build was made.
			was = built.UTC().Format("2006-01-02 15:04:05")
			if site.dialect == sqlsite.Postgres {
				was = built
			}
		}
		if was != nil {
			// Rows whose time came since the last look: now.
			changed, err := keysWhere(col+" > "+ph(1)+" AND "+col+" <= "+ph(2), was, now)
			if err != nil {
				return fmt.Errorf("schedule %s: %w", id, err)
			}
			if len(changed) > 0 {
				if err := enqueueAt(ctx, site.now, changed); err != nil {
					return err
				}
			}
		}
		last[id] = nowText
		var next any
		if err := site.db.QueryRowContext(ctx, "SELECT min("+col+") FROM "+tbl+" WHERE "+col+" > "+ph(1), now).Scan(&next); err != nil {
			return fmt.Errorf("schedule %s: %w", id, err)
		}
		if next == nil {
			continue // nothing to come
		}
		at, err := asTime(next)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", id, err)
		}
		changed, err := keysWhere(col+" = "+ph(1), next)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", id, err)
		}
		// A second past the time: the database's clock, which a query
		// that reads CURRENT_TIMESTAMP rather than :now sees, may run a
		// little behind bake's.
		if err := enqueueAt(ctx, at.Add(time.Second), changed); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(last)
	if err := os.WriteFile(stateFile, b, 0o644); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	return nil
}

// asTime reads a time as a database returns it: a time, or text in one of
// SQLite's usual forms (read as UTC, as CURRENT_TIMESTAMP writes it).
func asTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case []byte:
		v = string(t)
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("a %T is not a time", v)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want YYYY-MM-DD HH:MM:SS, UTC, as CURRENT_TIMESTAMP)", s)
}

// logWriter turns what a command prints on stderr into log lines.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			w.log.Info(line)
		}
	}
	return len(p), nil
}

func runRun(ctx context.Context, g *globals, f runFlags) error {
	log := g.logger()
	site, err := openSite(ctx, g.dir, 1)
	if err != nil {
		return reportSetupError(g, false, err)
	}
	cfg, dialect := site.cfg, site.dialect
	installed, err := capture.Installed(ctx, site.db, dialect)
	site.Close()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if len(installed) == 0 {
		log.Warn("no change capture: every row change makes a full build; run bake watch --install once")
	}
	stages := stagesOf(cfg, f.to, f.then)
	out := site.output()
	if len(stages) == 0 {
		log.Warn("no target: builds only; set [publish] url in bake.toml or pass --to")
	}
	token := os.Getenv(f.tokenEnv)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var schedule func(context.Context, time.Time, []string) error
	jcfg := jobs.Config{
		Stages:      stages,
		FullEvery:   f.fullEvery,
		VerifyEvery: f.verifyEvery,
		Metrics:     jobs.NewMetrics(reg),
		Logger:      log,
		RiverLogger: riverLogger(g),
	}
	clk, err := systemClock()
	if err != nil {
		return err
	}
	if clk.fake() {
		log.Warn("the clock is "+clockEnv+"'s file, not the system's", "file", clk.file, "now", clk.Now())
		jcfg.Now = clk.Now
	}
	p, closeDB, err := openPipeline(ctx, g, cfg, f.jobsURL, f.jobsSchema, runSite{g: g, out: out, schedule: &schedule, parts: &sync.Map{}}, jcfg)
	if err != nil {
		return err
	}
	defer closeDB()
	schedule = p.EnqueueAt
	reg.MustRegister(p.Collector())

	w, err := newSiteWatcher(ctx, g.dir, cfg, out, f.poll, log, f.debounce)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := p.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.Stop(sctx)
	}()
	// Whatever changed while no bake run was there, and a target that does
	// not have the build yet (a new one, or one a killed publish left).
	if err := p.EnqueueStart(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("run: %w; choose another with --addr HOST:PORT", err)
	}
	ui, err := p.UI(ctx, "/riverui")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/riverui/", ui)
	mux.Handle("/", runHandler(p, reg, token))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(g.stdio.Out, "running %s: metrics on http://%s/metrics (Ctrl-C to stop)\n", g.dir, ln.Addr())

	for {
		ev, err := w.Next(ctx)
		if err != nil {
			fmt.Fprintln(g.stdio.Out, "stopped")
			return nil
		}
		log.Debug("changed", "what", ev.String())
		if err := p.Enqueue(ctx, jobs.EnqueueBuild); err != nil {
			log.Error("enqueue build", "err", err)
		}
	}
}

// riverLogger is the logger of River itself: warnings and errors only
// (its info logs count jobs every few seconds), unless -v.
func riverLogger(g *globals) *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stdio.Err, &slog.HandlerOptions{Level: level}))
}

// runHandler serves bake run's endpoints.
func runHandler(p pipeline, reg *prometheus.Registry, token string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /enqueue/{what}", func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.Error(w, "no token set: start bake run with BAKE_RUN_TOKEN (see --token-env)", http.StatusForbidden)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "missing or wrong token", http.StatusUnauthorized)
			return
		}
		if err := p.Enqueue(r.Context(), r.PathValue("what")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "enqueued %s\n", r.PathValue("what"))
	})
	return mux
}
