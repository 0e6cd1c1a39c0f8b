package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/google/go-cmp/cmp"
)

// writeDistSite writes a site over n rows of PostgreSQL with a route of
// each kind a distributed build cuts differently: a detail route (by key
// ranges), a paginated list (by page ranges), a grouped list (by groups),
// a page, a feed, a sitemap, static files.
func writeDistSite(t *testing.T, dir, dbURL string, n int) {
	t.Helper()
	writeSiteFiles(t, dir, map[string]string{
		"bake.toml": `[site]
title = "Shop"
base_url = "https://shop.example.org"

[build]
minify_html = true
precompress = ["gzip", "br"]

[queries]
colors = "SELECT DISTINCT color FROM items ORDER BY color"

[[route]]
name = "home"
kind = "page"
path = "/"
template = "home.html"

[[route]]
name = "items"
kind = "list"
path = "/items/"
query = "SELECT id, slug, title FROM items"
order_by = "id DESC"
per_page = 20
template = "list.html"

[[route]]
name = "archive"
kind = "list"
path = "/archive/"
query = "SELECT id, slug, title FROM items"
order_by = "id DESC"
per_page = 20
pagination = "stable"
template = "list.html"

[[route]]
name = "color"
kind = "list"
path = "/colors/{color}/"
group_by = "color"
query = "SELECT id, slug, title, color FROM items"
order_by = "id"
per_page = 25
template = "list.html"

[[route]]
name = "item"
kind = "detail"
path = "/items/{slug}/"
query = "SELECT id, slug, title, color, body FROM items"
key = "id"
template = "item.html"

[[route]]
name = "feed"
kind = "feed"
path = "/feed.xml"
query = "SELECT id, slug, title, body, updated FROM items ORDER BY id DESC LIMIT 10"
link = "/items/{slug}/"
date = "updated"

[[route]]
name = "sitemap"
kind = "sitemap"
path = "/sitemap.xml"
`,
		"templates/home.html": `<!doctype html><title>{{.Site.Title}}</title><ul>{{range .Data.colors}}<li><a href="/colors/{{.color}}/">{{.color}}</a>{{end}}</ul>`,
		"templates/list.html": `<!doctype html><title>{{.Page.Path}}</title><link rel=stylesheet href="/css/site.css">
<ul>{{range .Rows}}<li><a href="/items/{{.slug}}/">{{.title}}</a>{{end}}</ul>
<p>page {{.Pager.Number}} of {{.Pager.TotalPages}}{{with .Pager.Next}} <a href="{{.}}">next</a>{{end}}</p>`,
		"templates/item.html": `<!doctype html><title>{{.Row.title}}</title><link rel=stylesheet href="/css/site.css">
<h1>{{.Row.title}}</h1><p>{{.Row.color}}</p>{{markdown .Row.body}}
<nav>{{range .Data.colors}}{{.color}} {{end}}</nav>`,
		"static/css/site.css": "body { font-family: sans-serif; color: #222; }\n" + strings.Repeat("/* padding so that it is compressed */\n", 40),
	})
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id bigint PRIMARY KEY, slug text NOT NULL, title text NOT NULL, color text NOT NULL, body text NOT NULL, updated timestamptz NOT NULL);
		INSERT INTO items SELECT i, 'item-' || i, 'Item ' || i, (ARRAY['red','green','blue'])[1 + i % 3],
			'Some **bold** words about item ' || i || E'.\n\n' || repeat('More text. ', 30), timestamptz '2026-01-01' + i * interval '1 hour'
		FROM generate_series(1, ` + strconv.Itoa(n) + `) AS i`); err != nil {
		t.Fatal(err)
	}
}

// bucketObject is an object of a bucket as a site's visitor, and the next
// publish, see it: bytes and headers.
type bucketObject struct {
	Body                                     string
	ContentType, CacheControl, Encoding, Loc string
	Meta                                     map[string]string
}

// readBucket returns every object of bucket but those that differ from
// one publish to the next by nature (release records, bake's own
// temporary keys) and the staged files of distributed builds.
func readBucket(t *testing.T, client *s3.Client, bucket string) map[string]bucketObject {
	t.Helper()
	ctx := context.Background()
	out := map[string]bucketObject{}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasPrefix(key, ".bake/releases/") || strings.HasPrefix(key, ".bake/staged/") {
				continue
			}
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[key] = bucketObject{Body: string(body), ContentType: aws.ToString(obj.ContentType), CacheControl: aws.ToString(obj.CacheControl),
				Encoding: aws.ToString(obj.ContentEncoding), Loc: aws.ToString(obj.WebsiteRedirectLocation), Meta: obj.Metadata}
		}
	}
	return out
}

// TestDistributedBuild runs bake build --distributed on three bake worker
// processes, PostgreSQL and an S3 server, and checks that the bucket ends
// up byte for byte (files, headers, manifest) as bake build + bake publish
// leave another; then again with a worker killed (kill -9) mid-build; then
// that a build with a bad row fails and leaves the release live.
// distSite is the setting of a distributed test: a site of some items in
// a PostgreSQL schema of its own (the jobs' tables go there too, dropped
// with it), and two buckets: ref for bake build + bake publish in one
// process, dist for bake build --distributed.
type distSite struct {
	dir, schema     string
	db              *sql.DB
	client          *s3.Client
	ref, dist       string // bucket names
	refURL, distURL string
}

func newDistSite(t *testing.T, items int) *distSite {
	t.Helper()
	srv := testenv.S3(t)
	dbURL := testenv.PostgresSchema(t)
	u, _ := url.Parse(dbURL)
	s := &distSite{dir: t.TempDir(), schema: u.Query().Get("search_path"), client: srv.Client(t), ref: srv.Bucket(t), dist: srv.Bucket(t)}
	q := url.Values{"region": {srv.Region}, "endpoint": {srv.Endpoint}, "use_path_style": {"true"}}
	s.refURL, s.distURL = "s3://"+s.ref+"?"+q.Encode(), "s3://"+s.dist+"?"+q.Encode()
	writeDistSite(t, s.dir, dbURL, items)
	t.Setenv("BAKE_DATABASE_URL", dbURL)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.db = db
	return s
}

func TestDistributedBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four bake processes and waits for River's rescuer (30 s)")
	}
	site := newDistSite(t, 1500)
	dir, schema, db, client, ref, dist, refURL, distURL := site.dir, site.schema, site.db, site.client, site.ref, site.dist, site.refURL, site.distURL

	// The workers: processes of their own, as on other machines.
	workers, startWorker := startDistWorkers(t, dir, schema, 3)
	reference := func() map[string]bucketObject {
		t.Helper()
		runBake(t, dir, "build", "-q", "--full")
		runBake(t, dir, "publish", "--to", refURL, "--force")
		return readBucket(t, client, ref)
	}
	distributed := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := bakeCommand(dir, append([]string{"build", "--distributed", "--to", distURL, "--jobs-schema", schema, "--shard-size", "40"}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	compare := func(what string) {
		t.Helper()
		want, got := reference(), readBucket(t, client, dist)
		if len(want) < 1500 {
			t.Fatalf("the reference bucket has %d objects", len(want))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the bucket differs from bake build + bake publish (-single +distributed):\n%s", what, diff)
		}
	}

	// 1. Three workers build and publish; the bucket equals the reference.
	cmd, out := distributed()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bake build --distributed: %v\n%s", err, out)
	}
	compare("first build")
	firstFiles := siteObjects(readBucket(t, client, ref))
	files := 0
	for k := range readBucket(t, client, ref) {
		if !strings.HasPrefix(k, ".bake/") {
			files++
		}
	}
	if want := fmt.Sprintf("built %d pages", files); !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "; release ") {
		t.Errorf("report does not say %q and the release: %s", want, out)
	}
	// Every file went live by a server-side copy of its staged form.
	if m := regexp.MustCompile(`(\d+) uploaded \((\d+) copied server-side, ([^)]*) sent\)`).FindStringSubmatch(out.String()); m == nil || m[1] != m[2] || m[1] == "0" || m[3] != "0 B" {
		t.Errorf("want every upload copied server-side, none sent: %s", out)
	}
	var busy int
	if err := db.QueryRow(`SELECT count(DISTINCT worker) FROM bake_dist_shards`).Scan(&busy); err != nil || busy < 2 {
		t.Errorf("%d workers rendered shards (%v), want several", busy, err)
	}

	// 2. Every page changes; one worker is killed mid-build: its shard is
	// given to another, and the bucket still equals the reference.
	if _, err := db.Exec(`UPDATE items SET title = 'Renamed ' || id`); err != nil {
		t.Fatal(err)
	}
	var first string
	if err := db.QueryRow(`SELECT id FROM bake_dist_builds`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	cmd, out = distributed()
	build, killed := "", -1
	for deadline := time.Now().Add(60 * time.Second); killed < 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		// The worker rendering a shard (its River ID is host:pid).
		var holder string
		if err := db.QueryRow(`SELECT b.id, j.attempted_by[array_length(j.attempted_by, 1)] FROM bake_dist_builds b JOIN river_job j ON j.args->>'build' = b.id
			WHERE b.id <> $1 AND b.shards_done >= 4 AND j.kind = 'bake_shard' AND j.state = 'running' LIMIT 1`, first).Scan(&build, &holder); err != nil {
			continue
		}
		pid, _ := strconv.Atoi(holder[strings.LastIndexByte(holder, ':')+1:])
		for i, w := range workers {
			if w.Process.Pid == pid {
				w.Process.Signal(syscall.SIGKILL)
				w.Wait()
				killed = i
			}
		}
	}
	if killed < 0 {
		t.Fatal("no worker was found rendering a shard of the second build")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bake build --distributed with a killed worker: %v\n%s", err, out)
	}
	var retried int
	if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'bake_shard' AND args->>'build' = $1 AND attempt > 1`, build).Scan(&retried); err != nil {
		t.Fatal(err)
	}
	if retried == 0 {
		t.Errorf("no shard of build %s was tried again: the killed worker held none", build)
	}
	compare("build with a worker killed")
	startWorker(killed)

	// 3. A bad row fails its shard, and the build: nothing changes in the
	// bucket but staged files.
	before := readBucket(t, client, dist)
	if _, err := db.Exec(`UPDATE items SET slug = '../escape', title = 'Broken' WHERE id = 700`); err != nil {
		t.Fatal(err)
	}
	cmd, out = distributed()
	err := cmd.Wait()
	if code := exitCode(err); code != 1 {
		t.Fatalf("build with a bad row: exit %d (%v)\n%s", code, err, out)
	}
	for _, want := range []string{"failed; the release that was live stays live", "route item", "700"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if diff := cmp.Diff(before, readBucket(t, client, dist)); diff != "" {
		t.Errorf("a failed build changed the bucket:\n%s", diff)
	}
	if got := before["items/item-699/index.html"].Body; !strings.Contains(got, "Renamed 699") {
		t.Errorf("live page: %q", got)
	}

	// 4. A rollback to the first build's release, from a site folder that
	// never published (no .bake/objects: the bytes of a distributed build
	// never pass through one): its files come from the staged forms,
	// copied server-side, and the site is the first build's again.
	var firstRelease string
	if err := db.QueryRow(`SELECT release FROM bake_dist_builds WHERE id = $1`, first).Scan(&firstRelease); err != nil || firstRelease == "" {
		t.Fatalf("release of the first build: %q, %v", firstRelease, err)
	}
	laptop := t.TempDir()
	for _, name := range []string{"bake.toml", "templates", "static"} {
		from := filepath.Join(dir, name)
		var err error
		if name == "bake.toml" {
			var b []byte
			if b, err = os.ReadFile(from); err == nil {
				err = os.WriteFile(filepath.Join(laptop, name), b, 0o644)
			}
		} else {
			err = os.CopyFS(filepath.Join(laptop, name), os.DirFS(from))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rb := runBake(t, laptop, "rollback", firstRelease, "--to", distURL)
	if m := regexp.MustCompile(`(\d+) uploaded \((\d+) copied server-side, ([^)]*) sent\)`).FindStringSubmatch(rb); m == nil || m[1] == "0" || m[3] != "0 B" {
		t.Errorf("want the rollback's uploads copied server-side, none sent: %s", rb)
	}
	if diff := cmp.Diff(firstFiles, siteObjects(readBucket(t, client, dist))); diff != "" {
		t.Errorf("after the rollback, the site differs from the first build's (-first +rolled back):\n%s", diff)
	}
	// A rollback whose files are neither in the store nor staged fails
	// before writing anything, saying so.
	before = readBucket(t, client, dist)
	if err := s3DeletePrefix(client, dist, ".bake/staged/"); err != nil {
		t.Fatal(err)
	}
	var renamed string
	if err := db.QueryRow(`SELECT release FROM bake_dist_builds WHERE state = 'live' AND id <> $1`, first).Scan(&renamed); err != nil {
		t.Fatal(err)
	}
	out2, err := bakeCommand(laptop, "rollback", renamed, "--to", distURL).CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "nor staged in the target by a distributed build") {
		t.Errorf("rollback without staged files: %v\n%s", err, out2)
	}
	if diff := cmp.Diff(before, readBucket(t, client, dist)); diff != "" {
		t.Errorf("a rollback that failed changed the bucket:\n%s", diff)
	}
}

// siteObjects returns the objects of a bucket that the site serves: not
// bake's own under .bake/.
func siteObjects(objs map[string]bucketObject) map[string]bucketObject {
	out := map[string]bucketObject{}
	for k, o := range objs {
		if !strings.HasPrefix(k, ".bake/") {
			out[k] = o
		}
	}
	return out
}

// s3DeletePrefix deletes every object of bucket under prefix.
func s3DeletePrefix(client *s3.Client, bucket, prefix string) error {
	ctx := context.Background()
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return err
			}
		}
	}
	return nil
}

// startDistWorkers starts n bake worker processes on the site folder dir,
// stopped when the test ends (their output logged if it failed), and
// returns them and a function that starts worker i again.
func startDistWorkers(t *testing.T, dir, schema string, n int) ([]*exec.Cmd, func(i int)) {
	workers := make([]*exec.Cmd, n)
	logs := make([]*bytes.Buffer, n)
	start := func(i int) {
		cmd := bakeCommand(dir, "worker", "--jobs-schema", schema, "--shard-timeout", "20s", "--rescue-after", "25s")
		logs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = cmd
	}
	for i := range workers {
		start(i)
	}
	t.Cleanup(func() {
		for i, w := range workers {
			w.Process.Signal(syscall.SIGTERM)
			w.Wait()
			if t.Failed() {
				t.Logf("worker %d:\n%s", i, logs[i])
			}
		}
	})
	return workers, start
}

// TestDistributedUpdate checks incremental distributed builds: with change
// capture installed, bake build --distributed after a first full build
// updates the live build in parts, rendered by the workers, and the
// bucket ends up byte for byte as a full bake build + bake publish leave
// another, after row updates, an insert, a delete, and a larger change
// spread over several parts.
func TestDistributedUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts bake worker processes")
	}
	site := newDistSite(t, 600)
	dir, schema, db, client, ref, dist, refURL, distURL := site.dir, site.schema, site.db, site.client, site.ref, site.dist, site.refURL, site.distURL
	runBake(t, dir, "watch", "--install")
	startDistWorkers(t, dir, schema, 2)
	distributed := func() string {
		t.Helper()
		return runBake(t, dir, "build", "--distributed", "--to", distURL, "--jobs-schema", schema, "--shard-size", "30")
	}
	exec := func(stmt string) {
		t.Helper()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	compare := func(what string) {
		t.Helper()
		runBake(t, dir, "build", "-q", "--full")
		runBake(t, dir, "publish", "--to", refURL, "--force")
		want, got := readBucket(t, client, ref), readBucket(t, client, dist)
		if len(want) < 600 {
			t.Fatalf("the reference bucket has %d objects", len(want))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the bucket differs from bake build --full + bake publish (-single +distributed):\n%s", what, diff)
		}
	}
	parts := func(out string) int {
		t.Helper()
		m := regexp.MustCompile(`^updated build \S+: (\d+) pages \([^)]*\) in (\d+) parts`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("not an update: %s", out)
		}
		n, _ := strconv.Atoi(m[2])
		return n
	}

	if out := distributed(); !strings.HasPrefix(out, "built ") {
		t.Fatalf("first build: %s", out)
	}
	compare("first build") // and the two buckets have the same history
	// Rows updated, inserted, deleted, moved from one group to another.
	exec(`UPDATE items SET title = 'Changed 5' WHERE id = 5`)
	exec(`INSERT INTO items VALUES (601, 'item-601', 'Item 601', 'red', 'New', timestamptz '2026-03-01')`)
	exec(`DELETE FROM items WHERE id = 7`)
	exec(`UPDATE items SET color = 'blue' WHERE id = 10`)
	out := distributed()
	if n := parts(out); n < 1 {
		t.Errorf("update in %d parts", n)
	}
	// The finishing job consumes the captured changes the update applied
	// (before the reference build below would).
	left := -1
	for deadline := time.Now().Add(10 * time.Second); left != 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := db.QueryRow(`SELECT count(*) FROM bake_changes`).Scan(&left); err != nil {
			t.Fatal(err)
		}
	}
	if left != 0 {
		t.Errorf("%d captured changes left after the update went live", left)
	}
	compare("update of four rows")
	// Nothing changed since: nothing to build.
	if out := distributed(); !strings.HasPrefix(out, "nothing to build") {
		t.Errorf("no change: %s", out)
	}
	// A change of 120 rows: several parts, on both workers.
	exec(`UPDATE items SET body = body || ' Edited.' WHERE id BETWEEN 100 AND 219`)
	out = distributed()
	if n := parts(out); n < 3 {
		t.Errorf("an update of 120 rows in %d parts, want several", n)
	}
	compare("update of 120 rows")

	// A bad row fails the update (its plan finds it, before anything is
	// enqueued): the live build stays, the captured changes too; once the
	// row is fixed, the next update applies them all.
	before := readBucket(t, client, dist)
	exec(`UPDATE items SET slug = '../escape', title = 'Broken' WHERE id = 300`)
	exec(`UPDATE items SET title = 'Changed 301' WHERE id = 301`)
	cmd := bakeCommand(dir, "build", "--distributed", "--to", distURL, "--jobs-schema", schema, "--shard-size", "30")
	bad, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(bad), `route "item": row 300`) {
		t.Errorf("update with a bad row: exit %d\n%s", code, bad)
	}
	if diff := cmp.Diff(before, readBucket(t, client, dist)); diff != "" {
		t.Errorf("a failed update changed the bucket:\n%s", diff)
	}
	exec(`UPDATE items SET slug = 'item-300', title = 'Fixed 300' WHERE id = 300`)
	parts(distributed())
	compare("update after a failed one")
	if got := readBucket(t, client, dist)["items/item-301/index.html"].Body; !strings.Contains(gunzip(t, got), "Changed 301") {
		t.Errorf("the change the failed update held is not live")
	}
}

// gunzip returns body decompressed when it is gzip, else body.
func gunzip(t *testing.T, body string) string {
	t.Helper()
	if !strings.HasPrefix(body, "\x1f\x8b") {
		return body
	}
	r, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exitCode returns the exit code of a command's error, 0 for none.
func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
