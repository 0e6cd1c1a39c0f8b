package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/bakehq/bake/internal/benchsite"
	"github.com/bakehq/bake/internal/testenv"
)

// BenchmarkDistributedBuild times a full distributed build of the bench
// site (BAKE_DISTBENCH_ITEMS rows, default 10,000; shards of
// BAKE_DISTBENCH_SHARD pages, default 2,000) on PostgreSQL, first
// published to an empty S3 bucket, by 1, 2 and 3 bake worker processes
// each limited to one core (GOMAXPROCS=1), against bake build --full +
// bake publish in one process, also on one core. Each run publishes to a
// bucket of its own, so every run stages every file (in its published
// form) and copies it to its key server-side (the single process uploads
// it). It reports the seconds of the render phase (enqueue to the last
// shard) and of the publish, and pages a second overall:
//
//	BAKE_DISTBENCH_ITEMS=100000 go test ./internal/cli -run '^$' -bench DistributedBuild -benchtime 3x -timeout 2h
//
// BAKE_DISTBENCH_LOGS=DIR keeps the workers' logs, BAKE_DISTBENCH_PROFILES=DIR
// their CPU profiles (worker-N.prof).
func BenchmarkDistributedBuild(b *testing.B) {
	items := 10000
	if v := os.Getenv("BAKE_DISTBENCH_ITEMS"); v != "" {
		items, _ = strconv.Atoi(v)
	}
	shardSize := "2000"
	if v := os.Getenv("BAKE_DISTBENCH_SHARD"); v != "" {
		shardSize = v
	}
	srv := testenv.S3(b)
	dbURL := testenv.PostgresSchema(b)
	u, _ := url.Parse(dbURL)
	schema := u.Query().Get("search_path")
	client := srv.Client(b)
	dir := b.TempDir()
	if err := benchsite.WriteSite(dir); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := benchsite.Populate(context.Background(), db, benchsite.DialectPostgres, benchsite.Options{Items: items}); err != nil {
		b.Fatal(err)
	}
	b.Setenv("BAKE_DATABASE_URL", dbURL)
	q := url.Values{"region": {srv.Region}, "endpoint": {srv.Endpoint}, "use_path_style": {"true"}}
	newBucket := func() string {
		name := "bake-distbench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			b.Fatal(err)
		}
		return "s3://" + name + "?" + q.Encode()
	}
	oneCore := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
		return cmd
	}
	run := func(args ...string) {
		cmd := oneCore(bakeCommand(dir, args...))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("bake %v: %v\n%s", args, err, out)
		}
	}

	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			to := newBucket()
			start := time.Now()
			run("build", "-q", "--full", "--wait-removal")
			built := time.Since(start)
			run("publish", "--to", to)
			b.ReportMetric(built.Seconds(), "render-s")
			b.ReportMetric(time.Since(start).Seconds()-built.Seconds(), "publish-s")
			b.ReportMetric(float64(items)/time.Since(start).Seconds(), "items/s")
		}
	})
	startWorkers := func(n int) (stop func()) {
		var workers []*exec.Cmd
		for i := range n {
			args := []string{"worker", "--jobs-schema", schema}
			if prof := os.Getenv("BAKE_DISTBENCH_PROFILES"); prof != "" {
				// A CPU profile of each worker, written when it stops.
				args = append([]string{"--cpuprofile", filepath.Join(prof, fmt.Sprintf("worker-%d.prof", i))}, args...)
			}
			cmd := oneCore(bakeCommand(dir, args...))
			var log io.Writer = &bytes.Buffer{}
			if logs := os.Getenv("BAKE_DISTBENCH_LOGS"); logs != "" {
				// The workers' logs (phases of shards and publishes).
				f, err := os.OpenFile(filepath.Join(logs, fmt.Sprintf("worker-%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				log = f
			}
			cmd.Stdout, cmd.Stderr = log, log
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			workers = append(workers, cmd)
		}
		return func() {
			for _, w := range workers {
				w.Process.Signal(syscall.SIGTERM)
				w.Wait()
			}
		}
	}
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			defer startWorkers(n)()
			for b.Loop() {
				to := newBucket()
				start := time.Now()
				cmd := oneCore(bakeCommand(dir, "build", "--distributed", "-q", "--to", to, "--jobs-schema", schema, "--shard-size", shardSize))
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				// The render phase ends when the build row says publishing.
				var rendered time.Duration
				for rendered == 0 {
					var state string
					err := db.QueryRow(`SELECT state FROM bake_dist_builds WHERE created_at >= $1 ORDER BY created_at DESC LIMIT 1`, start.Add(-time.Second)).Scan(&state)
					if err == nil && state != "running" {
						rendered = time.Since(start)
					}
					if cmd.ProcessState != nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if err := cmd.Wait(); err != nil {
					b.Fatalf("bake build --distributed: %v\n%s", err, out.String())
				}
				total := time.Since(start)
				b.ReportMetric(rendered.Seconds(), "render-s")
				b.ReportMetric((total - rendered).Seconds(), "publish-s")
				b.ReportMetric(float64(items)/total.Seconds(), "items/s")
			}
			// Per-shard costs, for the estimates of docs/scale-out.md.
			var shards int
			var med, p90 float64
			if err := db.QueryRow(`SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds / greatest(pages, 1)),
				percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds / greatest(pages, 1)) FROM bake_dist_shards WHERE pages > 100`).Scan(&shards, &med, &p90); err == nil {
				b.ReportMetric(med*1e3, "ms/page-median")
				b.ReportMetric(p90*1e3, "ms/page-p90")
			}
		})
	}
	// An update of one row's title, with change capture, on a build
	// made by 2 workers: what a distributed update costs at this size (it
	// reads and writes the whole index).
	b.Run("update/workers=2", func(b *testing.B) {
		defer startWorkers(2)()
		to := newBucket()
		run("build", "--distributed", "-q", "--full", "--to", to, "--jobs-schema", schema, "--shard-size", shardSize)
		run("watch", "--install")
		id := 0
		var took time.Duration
		for b.Loop() {
			id++
			if _, err := db.Exec(`UPDATE items SET title = title || '.' WHERE id = $1`, id*7%items+1); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			run("build", "--distributed", "-q", "--to", to, "--jobs-schema", schema, "--shard-size", shardSize)
			took += time.Since(start)
		}
		b.ReportMetric(took.Seconds()/float64(b.N), "update-s")
	})
}
