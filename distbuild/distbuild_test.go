package distbuild_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/distbuild"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/jobs"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/publish"
	"github.com/bakehq/bake/sqlsite"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// numbers is a site of one detail route whose keys are 1 to n: the page
// of key k says "page k" (in version v), and key bad, if set, fails.
type numbers struct {
	n, bad int
	v      string
	pad    int // bytes of padding after the text
}

func (s numbers) ShardPages(ctx context.Context, sh sqlsite.Shard) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		from, to := int64(0), int64(s.n)
		if sh.After != nil {
			from = *sh.After.Int
		}
		if sh.Through != nil {
			to = *sh.Through.Int
		}
		for k := from + 1; k <= to; k++ {
			if int(k) == s.bad {
				if !yield(nil, &bake.Error{Route: "n", Key: fmt.Sprint(k), Err: fmt.Errorf("row %d is bad", k)}) {
					return
				}
				continue
			}
			p := &bake.Page{Path: fmt.Sprintf("/n/%d/", k), Route: "n", Key: fmt.Sprint(k),
				Render: func(ctx context.Context, w io.Writer) error {
					_, err := fmt.Fprintf(w, "page %d %s%s", k, s.v, strings.Repeat(".", s.pad))
					return err
				}}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// shards cuts 1..n into shards of size keys.
func shards(n, size int) []sqlsite.Shard {
	var out []sqlsite.Shard
	for from := 0; from < n; from += size {
		after, through := int64(from), int64(min(n, from+size))
		sh := sqlsite.Shard{Route: "n", Through: &sqlsite.Key{Int: &through}, Pages: int(through - after)}
		if from > 0 {
			sh.After = &sqlsite.Key{Int: &after}
		}
		out = append(out, sh)
	}
	return out
}

// published records what the fake publisher published, by build index.
type published struct {
	mu    sync.Mutex
	pages []map[string]string // path → bytes
}

func (p *published) publish(ctx context.Context, target, dir string, from publish.Source) (string, []byte, error) {
	idx, err := output.OpenIndex(ctx, dir)
	if err != nil {
		return "", nil, err
	}
	defer idx.Close()
	got := map[string]string{}
	for e, err := range idx.Entries(ctx) {
		if err != nil {
			return "", nil, err
		}
		data, err := from.File(e.Path, e)
		if err != nil {
			return "", nil, err
		}
		got[e.Path] = string(data)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = append(p.pages, got)
	return fmt.Sprintf("release-%d", len(p.pages)), []byte(`{}`), nil
}

func setup(t *testing.T, site distbuild.Site, opts ...func(*distbuild.Config)) (*pgxpool.Pool, string, *published, *distbuild.Worker) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, riverpgxv5.New(pool), schema); err != nil {
		t.Fatal(err)
	}
	if err := distbuild.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	bucket := memblob.OpenBucket(nil)
	pub := &published{}
	cfg := distbuild.Config{Pool: pool, Schema: schema, Site: site,
		OpenBucket: func(context.Context, string) (*blob.Bucket, error) { return bucket, nil },
		Publish:    pub.publish, ShardTimeout: 10 * time.Second, RescueAfter: time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := distbuild.NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pool, schema, pub, w
}

func wait(t *testing.T, pool *pgxpool.Pool, schema, id string) distbuild.Status {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st, err := distbuild.ReadStatus(context.Background(), pool, schema, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == distbuild.StateLive || st.State == distbuild.StateFailed {
			return st
		}
	}
	t.Fatalf("build %s did not finish", id)
	return distbuild.Status{}
}

// TestShardRecordedOnce runs a shard twice (its job inserted again, as
// after a rescue of a worker that was alive after all): the build
// publishes every page once.
func TestShardRecordedOnce(t *testing.T) {
	ctx := context.Background()
	pool, schema, pub, w := setup(t, numbers{n: 100, v: "v1"})
	id, err := distbuild.Enqueue(ctx, pool, schema, "mem://", shards(100, 10))
	if err != nil {
		t.Fatal(err)
	}
	// A second job of shard 3 of the build.
	if _, err := pool.Exec(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, priority, scheduled_at)
		SELECT args, kind, max_attempts, queue, 'available', priority, now() FROM river_job WHERE kind = 'bake_shard' AND (args->>'shard')::int = 3`); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	st := wait(t, pool, schema, id)
	if st.State != distbuild.StateLive || st.ShardsDone != 10 || st.Pages != 100 || st.Release != "release-1" {
		t.Fatalf("build: %+v", st)
	}
	var runs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'bake_shard' AND (args->>'shard')::int = 3 AND state = 'completed'`).Scan(&runs); err != nil || runs != 2 {
		t.Errorf("shard 3 ran %d times (%v), want 2", runs, err)
	}
	if len(pub.pages) != 1 || len(pub.pages[0]) != 100 || pub.pages[0]["/n/42/"] != "page 42 v1" {
		t.Errorf("published %d builds: %v", len(pub.pages), pub.pages)
	}
}

// TestNewerBuildWins publishes a build enqueued second before the first:
// the first is then not published over it.
func TestNewerBuildWins(t *testing.T) {
	ctx := context.Background()
	pool, schema, pub, w := setup(t, numbers{n: 30, v: "v1"})
	older, err := distbuild.Enqueue(ctx, pool, schema, "mem://", shards(30, 10))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	newer, err := distbuild.Enqueue(ctx, pool, schema, "mem://", shards(30, 10))
	if err != nil {
		t.Fatal(err)
	}
	// The older build's shards wait until the newer one is live.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour' WHERE args->>'build' = $1`, older); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	if st := wait(t, pool, schema, newer); st.State != distbuild.StateLive {
		t.Fatalf("newer build: %+v", st)
	}
	if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE args->>'build' = $1`, older); err != nil {
		t.Fatal(err)
	}
	st := wait(t, pool, schema, older)
	if st.State != distbuild.StateFailed || !strings.Contains(st.Error, newer+", enqueued after this one, was published first") {
		t.Errorf("older build: %+v", st)
	}
	if len(pub.pages) != 1 {
		t.Errorf("%d publishes, want 1", len(pub.pages))
	}
}

// TestProblemFailsBuild: a page that cannot be made fails its shard and
// the build, with the problem, and nothing is published.
func TestProblemFailsBuild(t *testing.T) {
	ctx := context.Background()
	pool, schema, pub, w := setup(t, numbers{n: 50, bad: 17, v: "v1"})
	id, err := distbuild.Enqueue(ctx, pool, schema, "mem://", shards(50, 10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	st := wait(t, pool, schema, id)
	if st.State != distbuild.StateFailed || !strings.Contains(st.Error, "shard 1 (route n, keys (10, 20]): 1 problem") || !strings.Contains(st.Error, "row 17 is bad") {
		t.Errorf("build: %+v", st)
	}
	if len(pub.pages) != 0 {
		t.Errorf("a failed build was published: %v", pub.pages)
	}
}

// TestStagedForms: files staged in their published form only (here
// gzip-compressed) are read back, decoded, by a publish that cannot copy
// them.
func TestStagedForms(t *testing.T) {
	ctx := context.Background()
	pool, schema, pub, w := setup(t, numbers{n: 30, v: "v1", pad: 2000}, func(c *distbuild.Config) {
		c.Forms = func(string) (publish.FormOptions, bool) { return publish.FormOptions{Compress: true}, true }
	})
	id, err := distbuild.Enqueue(ctx, pool, schema, "mem://", shards(30, 10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	if st := wait(t, pool, schema, id); st.State != distbuild.StateLive {
		t.Fatalf("build: %+v", st)
	}
	if want := "page 7 v1" + strings.Repeat(".", 2000); len(pub.pages) != 1 || len(pub.pages[0]) != 30 || pub.pages[0]["/n/7/"] != want {
		t.Errorf("published %d builds: /n/7/ is %.40q", len(pub.pages), pub.pages[0]["/n/7/"])
	}
}
