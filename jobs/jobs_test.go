package jobs

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "modernc.org/sqlite"
)

// fakeSite records what the jobs asked of it.
type fakeSite struct {
	mu        sync.Mutex
	builds    int
	full      int
	publishes []string // targets, in order
	buildErr  error
	failTimes map[string]int // target → publishes that fail first
	buildTime time.Duration
	// hold, if set, keeps every build waiting until it is closed; each
	// build says on running (if set) that it started.
	hold      chan struct{}
	running   chan struct{}
	version   int // bumped by each build
	published map[string]int
	// publishTime is how long a publish reads the build folder; a build
	// that runs meanwhile counts in overlaps.
	publishTime time.Duration
	publishing  atomic.Bool
	overlaps    atomic.Int32
	unchanged   bool // builds write nothing
}

func (s *fakeSite) Build(ctx context.Context, full bool, changed []string) (BuildResult, error) {
	if s.hold != nil {
		select {
		case s.running <- struct{}{}:
		default:
		}
		<-s.hold
	}
	if s.publishing.Load() {
		s.overlaps.Add(1)
	}
	time.Sleep(s.buildTime)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buildErr != nil {
		return BuildResult{}, s.buildErr
	}
	s.builds++
	if full {
		s.full++
	}
	s.version++
	if s.unchanged && !full {
		return BuildResult{Incremental: true}, nil
	}
	return BuildResult{Incremental: !full, Pages: 1, Written: 1}, nil
}

func (s *fakeSite) Publish(ctx context.Context, target string, verify bool) (PublishResult, error) {
	s.publishing.Store(true)
	time.Sleep(s.publishTime)
	s.publishing.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failTimes[target] > 0 {
		s.failTimes[target]--
		return PublishResult{}, errors.New("target unreachable")
	}
	s.publishes = append(s.publishes, target)
	if s.published == nil {
		s.published = map[string]int{}
	}
	s.published[target] = s.version
	return PublishResult{Uploaded: 1}, nil
}

func (s *fakeSite) snapshot() (builds, full int, publishes []string, published map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := map[string]int{}
	for k, v := range s.published {
		p[k] = v
	}
	return s.builds, s.full, append([]string(nil), s.publishes...), p
}

// startPipeline runs a pipeline on an SQLite file of its own.
func startPipeline(t *testing.T, site Site, cfg Config) *Pipeline[*sql.Tx] {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	driver := riversqlite.New(db)
	if err := Migrate(ctx, driver, ""); err != nil {
		t.Fatal(err)
	}
	p, err := New(driver, site, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Stop(sctx)
	})
	return p
}

// eventually waits for cond, failing after a while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestBurstMakesFewBuilds: a thousand changes that come while a build
// runs make one more build, not a thousand, and the target gets the last
// one.
func TestBurstMakesFewBuilds(t *testing.T) {
	site := &fakeSite{hold: make(chan struct{}), running: make(chan struct{}, 1)}
	p := startPipeline(t, site, Config{Stages: [][]string{{"prod"}}})
	ctx := context.Background()
	if err := p.Enqueue(ctx, EnqueueBuild); err != nil {
		t.Fatal(err)
	}
	<-site.running // the first build runs, and waits
	for range 1000 {
		if err := p.Enqueue(ctx, EnqueueBuild); err != nil {
			t.Fatal(err)
		}
	}
	close(site.hold)
	eventually(t, "a publish of the last build", func() bool {
		builds, _, _, published := site.snapshot()
		return builds == 2 && published["prod"] == 2
	})
	time.Sleep(500 * time.Millisecond) // anything more would run now
	builds, _, publishes, published := site.snapshot()
	if builds != 2 || published["prod"] != 2 || len(publishes) > 2 {
		t.Errorf("%d builds and %d publishes for a burst of 1000 changes during a build, prod has build %d; want 2, at most 2, 2", builds, len(publishes), published["prod"])
	}
}

// TestChangeDuringBuild: changes that come while a build runs get one
// build after it, and no more.
func TestChangeDuringBuild(t *testing.T) {
	site := &fakeSite{hold: make(chan struct{}), running: make(chan struct{}, 1)}
	p := startPipeline(t, site, Config{})
	ctx := context.Background()
	p.Enqueue(ctx, EnqueueBuild)
	<-site.running
	for range 10 {
		p.Enqueue(ctx, EnqueueBuild)
	}
	close(site.hold)
	eventually(t, "two builds", func() bool { b, _, _, _ := site.snapshot(); return b == 2 })
	time.Sleep(time.Second)
	if b, _, _, _ := site.snapshot(); b != 2 {
		t.Errorf("%d builds, want 2", b)
	}
}

// TestFailedBuildPublishesNothing: a build that fails publishes nothing;
// it is retried, and once it succeeds the target gets it.
func TestFailedBuildPublishesNothing(t *testing.T) {
	site := &fakeSite{buildErr: errors.New("database gone")}
	p := startPipeline(t, site, Config{Stages: [][]string{{"prod"}}})
	if err := p.Enqueue(context.Background(), EnqueueBuild); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, _, publishes, _ := site.snapshot(); len(publishes) != 0 {
		t.Fatalf("published %v after a failed build", publishes)
	}
	site.mu.Lock()
	site.buildErr = nil
	site.mu.Unlock()
	// A new change builds at once (the failed job waits for its backoff).
	p.Enqueue(context.Background(), EnqueueBuild)
	eventually(t, "the publish after the build", func() bool { _, _, _, pub := site.snapshot(); return pub["prod"] == 1 })
}

// TestStagesAndRetries: staging is published first, production after it
// succeeded; a failing target is retried until it has the build.
func TestStagesAndRetries(t *testing.T) {
	site := &fakeSite{failTimes: map[string]int{"staging": 1}}
	p := startPipeline(t, site, Config{Stages: [][]string{{"staging"}, {"prod"}}})
	if err := p.Enqueue(context.Background(), EnqueueBuild); err != nil {
		t.Fatal(err)
	}
	// River's first retry comes after about a second.
	eventually(t, "production", func() bool { _, _, _, pub := site.snapshot(); return pub["prod"] == 1 })
	_, _, publishes, _ := site.snapshot()
	if diff := cmp.Diff([]string{"staging", "prod"}, publishes); diff != "" {
		t.Errorf("publishes (-want +got):\n%s", diff)
	}
}

// TestEnqueueFullAndVerify: a full build is one; a verify publishes every
// first-stage target; an unknown word is an error naming the choices.
func TestEnqueueFullAndVerify(t *testing.T) {
	site := &fakeSite{}
	p := startPipeline(t, site, Config{Stages: [][]string{{"a", "b"}}})
	ctx := context.Background()
	if err := p.Enqueue(ctx, EnqueueFull); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the full build and its publishes", func() bool {
		_, full, pubs, _ := site.snapshot()
		return full == 1 && len(pubs) == 2
	})
	if err := p.Enqueue(ctx, EnqueueVerify); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the verifications", func() bool { _, _, pubs, _ := site.snapshot(); return len(pubs) == 4 })
	if err := p.Enqueue(ctx, "deploy"); err == nil {
		t.Error("Enqueue(deploy) succeeded")
	}
}

// TestTargetsAreURLs: targets are bucket URLs, with characters River
// refuses in a periodic job's ID; the verifications are scheduled anyway.
func TestTargetsAreURLs(t *testing.T) {
	site := &fakeSite{}
	target := "s3://www?region=us-east-1&endpoint=http://127.0.0.1:9000&use_path_style=true"
	p := startPipeline(t, site, Config{Stages: [][]string{{target, "/srv/www"}}, VerifyEvery: time.Hour, FullEvery: time.Hour})
	if err := p.Enqueue(context.Background(), EnqueueBuild); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the publishes", func() bool { _, _, pubs, _ := site.snapshot(); return len(pubs) == 2 })
}

func TestJitteredSchedule(t *testing.T) {
	s := jittered(time.Hour)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[time.Time]bool{}
	for range 50 {
		n := s.Next(t0)
		if n.Before(t0.Add(54*time.Minute)) || n.After(t0.Add(time.Hour)) {
			t.Fatalf("Next = %v, want within the last tenth of the hour", n)
		}
		seen[n] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d different times in 50: no jitter", len(seen))
	}
}

// TestQueueMetrics: the collector counts jobs by state and the age of the
// oldest job ready to run.
func TestQueueMetrics(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	driver := riversqlite.New(db)
	if err := Migrate(ctx, driver, ""); err != nil {
		t.Fatal(err)
	}
	var ahead atomic.Int64 // how far the clock is ahead of the system's
	p, err := New(driver, &fakeSite{}, Config{Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	// Not started: the job waits, a minute by the clock River reads too.
	if err := p.Enqueue(ctx, EnqueueBuild); err != nil {
		t.Fatal(err)
	}
	ahead.Store(int64(time.Minute))
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.Metric {
			name := f.GetName()
			for _, l := range m.Label {
				name += "/" + l.GetValue()
			}
			got[name] = m.GetGauge().GetValue()
		}
	}
	if got["bake_jobs/available"] != 1 || got["bake_jobs/running"] != 0 {
		t.Errorf("jobs by state: %v", got)
	}
	if lag := got["bake_queue_lag_seconds"]; lag < 55 || lag > 65 {
		t.Errorf("queue lag %v s, want about 60 (the clock is a minute ahead)", lag)
	}
}

// TestPublishHasTheFolder: a build never runs while a publish reads the
// build folder.
func TestPublishHasTheFolder(t *testing.T) {
	site := &fakeSite{publishTime: 300 * time.Millisecond}
	p := startPipeline(t, site, Config{Stages: [][]string{{"prod"}}})
	ctx := context.Background()
	p.Enqueue(ctx, EnqueueBuild)
	eventually(t, "a publish", func() bool { return site.publishing.Load() })
	p.Enqueue(ctx, EnqueueBuild)
	eventually(t, "the second build published", func() bool { _, _, _, pub := site.snapshot(); return pub["prod"] == 2 })
	if n := site.overlaps.Load(); n != 0 {
		t.Errorf("%d builds ran while a publish read the build folder", n)
	}
}

// snapshotSite is a fakeSite whose publishes copy what they upload and
// then let builds run (jobs.SnapshotPublisher).
type snapshotSite struct {
	*fakeSite
	uploading chan struct{} // a publish released the folder
	upload    chan struct{} // closed: the upload ends
	built     atomic.Int32  // builds that ended while a publish uploaded
}

func (s *snapshotSite) PublishSnapshot(ctx context.Context, target string, verify bool, release func()) (PublishResult, error) {
	s.publishing.Store(true)
	time.Sleep(100 * time.Millisecond) // the plan, the copy
	s.publishing.Store(false)
	release()
	select {
	case s.uploading <- struct{}{}:
	default:
	}
	before, _, _, _ := s.snapshot()
	select {
	case <-s.upload:
	case <-ctx.Done():
	}
	if after, _, _, _ := s.snapshot(); after > before {
		s.built.Add(int32(after - before))
	}
	return s.Publish(ctx, target, verify)
}

// TestSnapshotPublishLetsBuildRun: once a publish has released the build
// folder, the next build runs while it uploads, never before.
func TestSnapshotPublishLetsBuildRun(t *testing.T) {
	site := &snapshotSite{fakeSite: &fakeSite{}, uploading: make(chan struct{}, 1), upload: make(chan struct{})}
	p := startPipeline(t, site, Config{Stages: [][]string{{"prod"}}})
	ctx := context.Background()
	p.Enqueue(ctx, EnqueueBuild)
	<-site.uploading
	p.Enqueue(ctx, EnqueueBuild)
	eventually(t, "a build during the upload", func() bool { b, _, _, _ := site.snapshot(); return b == 2 })
	close(site.upload)
	eventually(t, "the second build published", func() bool { _, _, _, pub := site.snapshot(); return pub["prod"] == 2 })
	if n := site.built.Load(); n != 1 {
		t.Errorf("%d builds ended while the first publish uploaded, want 1", n)
	}
	if n := site.overlaps.Load(); n != 0 {
		t.Errorf("%d builds ran while a publish read the build folder", n)
	}
}

// TestEnqueueStart: at start, the build runs first and the target is
// published after it, even though it changed nothing.
func TestEnqueueStart(t *testing.T) {
	site := &fakeSite{unchanged: true, publishTime: 50 * time.Millisecond}
	p := startPipeline(t, site, Config{Stages: [][]string{{"a", "b"}}})
	if err := p.EnqueueStart(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the publishes", func() bool { _, _, pubs, _ := site.snapshot(); return len(pubs) == 2 })
	if _, _, _, pub := site.snapshot(); pub["a"] != 1 || pub["b"] != 1 {
		t.Errorf("targets have builds %v, want the first one (1) each: a publish before the build", pub)
	}
	if builds, _, _, _ := site.snapshot(); builds != 1 {
		t.Errorf("%d builds, want 1", builds)
	}
}
