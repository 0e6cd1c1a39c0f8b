package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

// runProcess is a bake run process of a test.
type runProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	addr string
}

// startRun starts bake run on the site folder dir, publishing to target.
func startRun(t *testing.T, dir, target string, extra ...string) *runProcess {
	t.Helper()
	return startRunEnv(t, dir, target, nil, extra...)
}

// startRunEnv is startRun with more environment variables.
func startRunEnv(t *testing.T, dir, target string, env []string, extra ...string) *runProcess {
	t.Helper()
	args := append([]string{"run", "--to", target, "--addr", "127.0.0.1:0", "--poll", "50ms", "--debounce", "50ms"}, extra...)
	cmd := bakeCommand(dir, args...)
	cmd.Env = append(cmd.Env, env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &runProcess{cmd: cmd, logs: logs}
	t.Cleanup(func() { p.kill() })
	re := regexp.MustCompile(`metrics on http://([0-9.:]+)/metrics`)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			p.addr = m[1]
			return p
		}
		if cmd.ProcessState != nil {
			break
		}
	}
	t.Fatalf("bake run did not start:\n%s", logs.String())
	return nil
}

func (p *runProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// sameTree reports how the files of target differ from those of the build
// folder out (bake's own .bake folder aside): "" when they are the same.
func sameTree(t *testing.T, out, target string) string {
	t.Helper()
	read := func(root string) map[string]string {
		files := map[string]string{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if d.Name() == ".bake" {
					return filepath.SkipDir
				}
				return nil
			}
			b, _ := os.ReadFile(p)
			files[filepath.ToSlash(rel)] = string(b)
			return nil
		})
		return files
	}
	want, got := read(out), read(target)
	var diffs []string
	for name, body := range want {
		if g, ok := got[name]; !ok {
			diffs = append(diffs, "missing "+name)
		} else if g != body {
			diffs = append(diffs, "differs "+name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, "extra "+name)
		}
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("… %d in all", len(diffs)))
	}
	return strings.Join(diffs, ", ")
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func fileHas(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte(s))
}

// TestRunPublishesRowChanges: with bake run going, a row update reaches
// the target with no other command, and a thousand updates in a second
// make a handful of builds and leave the target equal to the build.
func TestRunPublishesRowChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeItemsSite(t, dir, 300, "v1 ")
	runBake(t, dir, "build", "-q")
	runBake(t, dir, "watch", "--install")
	target := filepath.Join(t.TempDir(), "www")
	p := startRun(t, dir, target)
	page := filepath.Join(target, "items", "7", "index.html")
	waitFor(t, "the first publish", 30*time.Second, func() bool { return fileHas(page, "v1 7") })

	db := openSQLite(t, filepath.Join(dir, "site.db"))
	start := time.Now()
	if _, err := db.Exec(`UPDATE items SET title = 'v2 7' WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the update in the target", 30*time.Second, func() bool { return fileHas(page, "v2 7") })
	t.Logf("one update: in the target %v after its commit", time.Since(start).Round(time.Millisecond))

	// A thousand updates within a second.
	builds := strings.Count(p.logs.String(), "msg=built")
	for i := range 1000 {
		if _, err := db.Exec(`UPDATE items SET title = ? WHERE id = ?`, fmt.Sprintf("v3 %d", i%300+1), i%300+1); err != nil {
			t.Fatal(err)
		}
	}
	last := filepath.Join(target, "items", "300", "index.html")
	waitFor(t, "the burst in the target", 60*time.Second, func() bool { return fileHas(last, "v3 300") })
	waitFor(t, "the target equal to the build", 30*time.Second, func() bool { return sameTree(t, filepath.Join(dir, "_site"), target) == "" })
	if n := strings.Count(p.logs.String(), "msg=built") - builds; n > 6 {
		t.Errorf("%d builds for 1000 updates in a second; want a handful", n)
	}
	if strings.Contains(p.logs.String(), "level=ERROR") {
		t.Errorf("errors in the log:\n%s", p.logs.String())
	}
	// The queue's metrics.
	resp0, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp0.Body)
	resp0.Body.Close()
	for _, m := range []string{`bake_jobs{state="available"}`, `bake_queue_lag_seconds`, `bake_jobs_total{kind="bake_build",outcome="ok"}`, `bake_last_publish_success_timestamp_seconds{target="`} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// River's UI lists the jobs.
	resp, err := http.Get("http://" + p.addr + "/riverui/api/jobs?state=completed&limit=5")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "bake_build") {
		t.Errorf("GET /riverui/api/jobs: %d %.300s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + p.addr + "/riverui/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("GET /riverui/: %d %.300s", resp.StatusCode, body)
	}
}

// TestRunKilledConverges kills bake run with SIGKILL at random points of
// its builds and publishes, starts it again, and checks that the target
// ends up equal to the build, byte for byte.
func TestRunKilledConverges(t *testing.T) {
	t.Parallel()
	kills := 3
	if testenv.InCI() {
		kills = 6
	}
	n := 3000
	if testing.Short() {
		n, kills = 1500, 2
	}
	dir := t.TempDir()
	writeItemsSite(t, dir, n, "v0 ")
	runBake(t, dir, "build", "-q")
	runBake(t, dir, "watch", "--install")
	target := filepath.Join(t.TempDir(), "www")
	db := openSQLite(t, filepath.Join(dir, "site.db"))
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	for round := 1; round <= kills; round++ {
		p := startRun(t, dir, target)
		// Change a third of the rows, and kill the process while it builds
		// or publishes them.
		if _, err := db.Exec(`UPDATE items SET title = ? WHERE id % 3 = ?`, fmt.Sprintf("v%d ", round), round%3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(2500 * time.Millisecond))))
		p.kill()
		t.Logf("round %d: killed after %d builds and %d publishes logged", round,
			strings.Count(p.logs.String(), "msg=built"), strings.Count(p.logs.String(), "msg=published"))
	}
	// What a fresh full build of the data makes (a build into another
	// folder neither reads nor consumes the captured changes).
	fresh := filepath.Join(t.TempDir(), "fresh")
	runBake(t, dir, "build", "-q", "--full", "--wait-removal", "-o", fresh)
	p := startRun(t, dir, target)
	converged := func() bool {
		return sameTree(t, fresh, filepath.Join(dir, "_site")) == "" && sameTree(t, fresh, target) == ""
	}
	for deadline := time.Now().Add(2 * time.Minute); !converged(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not converged: build %s; target %s\nlog of the last bake run:\n%s",
				sameTree(t, fresh, filepath.Join(dir, "_site")), sameTree(t, fresh, target), p.logs.String())
		}
	}
}

// TestRunOnPostgres: on a site whose database is PostgreSQL, the jobs live
// there too (in a schema of their own), and a row update reaches the
// target through LISTEN/NOTIFY.
func TestRunOnPostgres(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id integer PRIMARY KEY, title text);
		INSERT INTO items SELECT i, 'v1 ' || i FROM generate_series(1, 200) i`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeItemsSite(t, dir, 1, "unused ")
	env := []string{"BAKE_DATABASE_URL=" + url}
	install := bakeCommand(dir, "watch", "--install")
	install.Env = append(install.Env, env...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("watch --install: %v\n%s", err, out)
	}
	target := filepath.Join(t.TempDir(), "www")
	schema := "bake_jobs_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_")) + fmt.Sprint(time.Now().UnixNano()%1e6)
	t.Cleanup(func() { db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE") })
	p := startRunEnv(t, dir, target, env, "--jobs-schema", schema)
	page := filepath.Join(target, "items", "42", "index.html")
	waitFor(t, "the first publish", 60*time.Second, func() bool { return fileHas(page, "v1 42") })
	start := time.Now()
	if _, err := db.Exec(`UPDATE items SET title = 'v2 42' WHERE id = 42`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the update in the target", 30*time.Second, func() bool { return fileHas(page, "v2 42") })
	t.Logf("one update on PostgreSQL: in the target %v after its commit", time.Since(start).Round(time.Millisecond))
	var jobs int
	if err := db.QueryRow("SELECT count(*) FROM " + schema + ".river_job").Scan(&jobs); err != nil || jobs == 0 {
		t.Errorf("no jobs in schema %s: %d, %v", schema, jobs, err)
	}
	if strings.Contains(p.logs.String(), "level=ERROR") {
		t.Errorf("errors in the log:\n%s", p.logs.String())
	}
}

// TestRunScheduledRow: a row whose publish time is to come ([[jobs.schedule]])
// is not on the site before that time, and is as soon as it comes, with no
// write to the database then; a row whose time came while bake run was
// away is built when it starts. The clock is one the test moves
// (BAKE_CLOCK): the route's :now, when rows are due and when River runs
// the scheduled build all read it, so the test waits for no real hour.
func TestRunScheduledRow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeSiteFiles(t, dir, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[[jobs.schedule]]
table = "items"
column = "publish_at"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT * FROM items WHERE publish_at <= :now"
template = "item.html"
`,
		"templates/item.html": `<h1>{{.Row.title}}</h1>`,
	})
	clockFile := filepath.Join(t.TempDir(), "clock")
	setClock := func(at time.Time) {
		t.Helper()
		if err := os.WriteFile(clockFile, []byte(at.UTC().Format(time.RFC3339)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"BAKE_CLOCK=" + clockFile}
	// The clock starts at the real time: before bake run's first look,
	// the build folder's time stands for the last one.
	t0 := time.Now().UTC().Truncate(time.Second)
	setClock(t0)
	db := openSQLite(t, filepath.Join(dir, "site.db"))
	// Times as SQLite's CURRENT_TIMESTAMP writes them: UTC, to the second.
	sqlTime := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, publish_at TEXT);
		INSERT INTO items VALUES (1, 'out already', '2020-01-01 00:00:00'), (2, 'embargoed', '2099-01-01 00:00:00'), (3, 'due while away', ?)`,
		sqlTime(t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	build := bakeCommand(dir, "build", "-q")
	build.Env = append(build.Env, env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("bake build: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "_site", "items", "3")); err == nil {
		t.Fatal("row 3 is built before its time")
	}
	runBake(t, dir, "watch", "--install")
	setClock(t0.Add(2 * time.Minute)) // row 3's time passes before bake run starts
	target := filepath.Join(t.TempDir(), "www")
	p := startRunEnv(t, dir, target, env)
	waitFor(t, "the first publish", 60*time.Second, func() bool { return fileHas(filepath.Join(target, "items", "1", "index.html"), "out already") })
	waitFor(t, "the row due while bake run was away", 30*time.Second, func() bool {
		return fileHas(filepath.Join(target, "items", "3", "index.html"), "due while away")
	})

	// An editor sets row 2's time an hour from the clock's now (and edits
	// row 1, to see when the build of that change is in the target).
	at := t0.Add(2*time.Minute + time.Hour)
	if _, err := db.Exec(`UPDATE items SET publish_at = ? WHERE id = 2; UPDATE items SET title = 'edited' WHERE id = 1`, sqlTime(at)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the edit of row 1", 30*time.Second, func() bool { return fileHas(filepath.Join(target, "items", "1", "index.html"), "edited") })
	embargoed := filepath.Join(target, "items", "2", "index.html")
	// A second before its time, and a build at that time (a webhook's):
	// still out.
	setClock(at.Add(-time.Second))
	runBake(t, dir, "enqueue", "build")
	time.Sleep(3 * time.Second)
	if fileHas(embargoed, "embargoed") {
		t.Fatal("the embargoed row is in the target a second before its time")
	}
	// Its time comes: in the target within seconds, with no write.
	setClock(at.Add(2 * time.Second))
	moved := time.Now()
	for deadline := time.Now().Add(60 * time.Second); !fileHas(embargoed, "embargoed"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the embargoed row is not in the target a minute after its time came; bake run's log:\n%s", p.logs.String())
		}
	}
	t.Logf("the embargoed row was in the target %v after the clock passed its time", time.Since(moved).Round(100*time.Millisecond))
	if strings.Contains(p.logs.String(), "level=ERROR") {
		t.Errorf("errors in the log:\n%s", p.logs.String())
	}
}

// TestRunWebhook: POST /enqueue/... needs the token; /healthz and
// /metrics answer.
func TestRunWebhook(t *testing.T) {
	t.Parallel()
	p := &recordingPipeline{}
	srv := httptest.NewServer(runHandler(p, prometheus.NewRegistry(), "s3cret"))
	defer srv.Close()
	noToken := httptest.NewServer(runHandler(p, prometheus.NewRegistry(), ""))
	defer noToken.Close()
	post := func(base, path, auth string) int {
		req, _ := http.NewRequest(http.MethodPost, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		base, path, auth string
		want             int
	}{
		{srv.URL, "/enqueue/build", "", http.StatusUnauthorized},
		{srv.URL, "/enqueue/build", "Bearer wrong", http.StatusUnauthorized},
		{srv.URL, "/enqueue/build", "s3cret", http.StatusUnauthorized},
		{srv.URL, "/enqueue/build", "Bearer s3cret", http.StatusAccepted},
		{srv.URL, "/enqueue/deploy", "Bearer s3cret", http.StatusBadRequest},
		{noToken.URL, "/enqueue/build", "Bearer ", http.StatusForbidden},
	}
	for _, tt := range tests {
		if got := post(tt.base, tt.path, tt.auth); got != tt.want {
			t.Errorf("POST %s with %q: %d, want %d", tt.path, tt.auth, got, tt.want)
		}
	}
	if got := p.list(); len(got) != 1 || got[0] != "build" {
		t.Errorf("enqueued %v, want [build]", got)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
}

type recordingPipeline struct {
	mu   sync.Mutex
	what []string
}

func (p *recordingPipeline) Start(context.Context) error { return nil }
func (p *recordingPipeline) Stop(context.Context) error  { return nil }
func (p *recordingPipeline) Enqueue(_ context.Context, what string) error {
	if what != "build" && what != "full" && what != "publish" && what != "verify" {
		return fmt.Errorf("enqueue %q: unknown", what)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.what = append(p.what, what)
	return nil
}

func (p *recordingPipeline) Collector() prometheus.Collector { return prometheus.NewRegistry() }

func (p *recordingPipeline) EnqueueAt(context.Context, time.Time, []string) error { return nil }

func (p *recordingPipeline) EnqueueStart(context.Context) error { return nil }

func (p *recordingPipeline) UI(context.Context, string) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}

func (p *recordingPipeline) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.what...)
}
