package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake/internal/benchsite"
	"github.com/bakehq/bake/output"
	"github.com/spf13/cobra"
)

type benchFlags struct {
	items       int
	seed        int64
	keep        string
	runs        int
	json        bool
	publish     string
	incremental bool
	serve       bool
	run         string
	assets      bool
}

func benchCmd(g *globals) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Generate the benchmark site, build it and print the figures",
		Long: `Bench generates the benchmark workload (an items table of N rows in SQLite,
with a home page, paginated lists, 20 category lists, one page per item,
RSS and Atom feeds, a sitemap and a 404 page), builds it --runs times, each
as a separate bake build process, and prints the median wall time,
pages per second, peak memory (RSS) and bytes written.

--publish TARGET then times bake publish to a folder or bucket (an empty
one for the full case): a full publish, a no-op publish, and a publish
after one title changed and the site was rebuilt.

--incremental then installs change capture on the items table (as bake
watch --install does) and times incremental bake build processes: with no
change, after one title update, after one row is unpublished, after one
row is inserted, and after one row is deleted (--runs times each;
medians). It reports the wall time of the process, the build's own time,
the pages rendered and files written, and the pages rendered of each list
(the numbered /items/ and category lists, the stable /news/). It then
makes every list stable (pagination = "stable") and times the same cases
again: the "stable" series.

--assets then times full builds with fingerprinted static files and
minified CSS, JavaScript and HTML (the [assets] defaults and --production)
against a build without them ([assets] fingerprint, minify and crush
false), --runs times each, alternating; medians, and their ratio.

--serve then starts bake serve on the site, with change capture installed,
and times how long after an edit the open pages are told to reload (the
live-reload event): after an edit to the home page's template, and after
one title update (--runs times each; medians).

--run TARGET then starts bake run on the site, with change capture,
publishing to TARGET (a folder or bucket URL), and measures the time from
an UPDATE's commit to the changed page being in the target: 100
single-row updates one after another, then a stream of 50 updates a second
for 10 seconds (median, p99, max).

--keep DIR leaves the generated site there (bake.toml, templates, bench.db)
so that it can be rebuilt, changed and compared by hand; a later bench
with the same --keep, --items and --seed reuses its database.

Where the folder is matters: bench prints its filesystem. On a disk, a
build's time includes the kernel writing every page back to it (and the
removal of the build it replaced), which on a shared or virtual disk
varies more from run to run than bake does; a folder in memory (tmpfs,
such as /dev/shm on Linux) measures bake alone.`,
		Example: `  bake bench --items 10000
  bake bench --items 100000 --runs 5 --keep /dev/shm/bench100k --json
  bake bench --items 100000 --runs 5 --incremental
  bake bench --items 100000 --runs 5 --serve --keep /dev/shm/bench100k`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), g, f)
		},
	}
	cmd.Flags().IntVar(&f.items, "items", 10000, "rows in the items table")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed of the generated content")
	cmd.Flags().StringVar(&f.keep, "keep", "", "generate the site in DIR and keep it (default: a temporary folder, removed)")
	cmd.Flags().IntVar(&f.runs, "runs", 1, "builds to run; the median is reported")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the figures as JSON on stdout")
	cmd.Flags().StringVar(&f.publish, "publish", "", "also time bake publish to this folder or bucket URL: full, no-op, and one changed row")
	cmd.Flags().BoolVar(&f.incremental, "incremental", false, "also time incremental builds: no change, one title update, one unpublish, one insert, one delete; with numbered, then stable lists")
	cmd.Flags().StringVar(&f.run, "run", "", "also time bake run from an UPDATE's commit to the page in this folder or bucket URL: 100 single updates, then 50 a second")
	cmd.Flags().BoolVar(&f.serve, "serve", false, "also time bake serve from an edit to the reload of the open pages: a template, a row")
	cmd.Flags().BoolVar(&f.assets, "assets", false, "also time full builds with fingerprints and CSS, JS and HTML minification on against off, alternating")
	return cmd
}

// benchRun is the figures of one build.
type benchRun struct {
	Seconds        float64 `json:"seconds"`       // wall time of the bake build process
	BuildSeconds   float64 `json:"build_seconds"` // as the build measured itself
	Pages          int     `json:"pages"`
	Bytes          int64   `json:"bytes"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	PagesPerSecond float64 `json:"pages_per_second"`
	// RemovalSeconds is how long the replaced build took to remove, in
	// the background, after the process returned; the next run starts
	// only then, so that the two do not share the CPU.
	RemovalSeconds float64 `json:"removal_seconds"`
}

// benchResult is what bake bench --json prints: the median run's figures
// and every run.
type benchResult struct {
	Items          int     `json:"items"`
	Seed           int64   `json:"seed"`
	GenerateSecs   float64 `json:"generate_seconds"`
	Pages          int     `json:"pages"`
	Seconds        float64 `json:"seconds"`
	PagesPerSecond float64 `json:"pages_per_second"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	Bytes          int64   `json:"bytes"`
	CPUs           int     `json:"cpus"`
	// Filesystem is what the site folder is on (tmpfs, ext4, …): on a disk
	// the figures include writing the pages back to it, which on a busy or
	// virtual disk varies from run to run more than bake does.
	Filesystem string     `json:"filesystem,omitempty"`
	Runs       []benchRun `json:"runs"`
	// Publish holds the seconds of each publish case, when --publish is set.
	Publish map[string]publishRun `json:"publish,omitempty"`
	// Incremental holds the median of each incremental case, when
	// --incremental is set: nochange, title, unpublish, insert, delete;
	// IncrementalStable the same once every list is stable.
	Incremental       map[string]incrementalRun `json:"incremental,omitempty"`
	IncrementalStable map[string]incrementalRun `json:"incremental_stable,omitempty"`
	// Serve holds the median seconds from an edit to bake serve's reload
	// event, when --serve is set: template, row.
	Serve map[string]float64 `json:"serve,omitempty"`
	// Run holds the latencies of bake run, when --run is set: single,
	// stream.
	Run map[string]runLatency `json:"run,omitempty"`
	// Assets holds the full builds of --assets: off, on.
	Assets map[string]assetsRun `json:"assets,omitempty"`
}

// incrementalRun is the figures of one incremental bake build process.
type incrementalRun struct {
	Seconds      float64 `json:"seconds"`       // wall time of the process
	BuildSeconds float64 `json:"build_seconds"` // as the build measured itself (process start excluded)
	Rendered     int     `json:"rendered"`
	Written      int     `json:"written"`
	Removed      int     `json:"removed"`
	Incremental  bool    `json:"incremental"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"` // in a median: the largest of the runs
	// ListPages is the number of pages rendered of each list route.
	ListPages map[string]int `json:"list_pages"`
}

// benchLists are the list routes of the bench site, as bench reports them.
var benchLists = []string{"items", "category", "news"}

// publishRun is the figures of one bake publish process.
type publishRun struct {
	Seconds      float64 `json:"seconds"`
	Uploaded     int     `json:"uploaded"`
	Deleted      int     `json:"deleted"`
	BytesSent    int64   `json:"bytes_sent"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

func runBench(ctx context.Context, g *globals, f benchFlags) error {
	if f.items < 1 {
		return fmt.Errorf("bench: --items must be at least 1")
	}
	if f.runs < 1 {
		return fmt.Errorf("bench: --runs must be at least 1")
	}
	dir := f.keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bake-bench-*")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	log := g.logger()
	start := time.Now()
	if err := prepareBench(ctx, dir, f); err != nil {
		return err
	}
	res := benchResult{Items: f.items, Seed: f.seed, GenerateSecs: time.Since(start).Seconds(), CPUs: runtime.GOMAXPROCS(0)}
	fs, memory := fsType(dir)
	res.Filesystem = fs
	if !f.json {
		on := ""
		if fs != "" {
			on = " on " + fs
		}
		fmt.Fprintf(g.stdio.Out, "generated %d items in %s%s (%.1fs)\n", f.items, dir, on, res.GenerateSecs)
		if fs != "" && !memory {
			fmt.Fprintf(g.stdio.Out, "note: %s is on a disk, so the build times include the kernel writing about 10 KB a page back to it and removing the replaced build; for bake's own speed, use a folder in memory: --keep /dev/shm/bench\n", dir)
		}
	}
	for i := range f.runs {
		run, err := benchBuild(ctx, dir)
		if err != nil {
			return err
		}
		res.Runs = append(res.Runs, run)
		if !f.json {
			fmt.Fprintf(g.stdio.Out, "run %d: %d pages in %.2fs (%.0f pages/s), peak RSS %s, %s written; previous build removed %.2fs later\n",
				i+1, run.Pages, run.Seconds, run.PagesPerSecond, humanBytes(run.PeakRSSBytes), humanBytes(run.Bytes), run.RemovalSeconds)
		} else {
			log.Debug("bench run", "run", i+1, "seconds", run.Seconds)
		}
	}
	runs := slices.Clone(res.Runs)
	slices.SortFunc(runs, func(a, b benchRun) int { return cmpFloat(a.Seconds, b.Seconds) })
	med := runs[len(runs)/2]
	res.Pages, res.Seconds, res.Bytes = med.Pages, med.Seconds, med.Bytes
	res.PagesPerSecond = med.PagesPerSecond
	for _, r := range res.Runs {
		res.PeakRSSBytes = max(res.PeakRSSBytes, r.PeakRSSBytes)
	}
	if f.publish != "" {
		pub, err := benchPublish(ctx, dir, f)
		if err != nil {
			return err
		}
		res.Publish = pub
		if !f.json {
			for _, c := range []string{"full", "noop", "one_change"} {
				r := pub[c]
				fmt.Fprintf(g.stdio.Out, "publish %s: %.2fs, %d uploaded (%s sent), %d deleted, peak RSS %s\n",
					c, r.Seconds, r.Uploaded, humanBytes(r.BytesSent), r.Deleted, humanBytes(r.PeakRSSBytes))
			}
		}
	}
	if f.incremental {
		inc, err := benchIncremental(ctx, dir, f)
		if err != nil {
			return err
		}
		res.Incremental = inc
		if err := benchsite.UseStablePagination(dir); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if res.IncrementalStable, err = benchIncremental(ctx, dir, f); err != nil {
			return err
		}
		if !f.json {
			for _, series := range []struct {
				name string
				runs map[string]incrementalRun
			}{{"numbered", res.Incremental}, {"stable", res.IncrementalStable}} {
				for _, c := range incrementalCases {
					r := series.runs[c]
					var lists []string
					for _, l := range benchLists {
						lists = append(lists, fmt.Sprintf("%s %d", l, r.ListPages[l]))
					}
					fmt.Fprintf(g.stdio.Out, "incremental %s %s: %.3fs (build %.1f ms), %d rendered (%s), %d written, %d removed, peak RSS %s\n",
						series.name, c, r.Seconds, r.BuildSeconds*1000, r.Rendered, strings.Join(lists, ", "), r.Written, r.Removed, humanBytes(r.PeakRSSBytes))
				}
			}
		}
	}
	if f.serve {
		srv, err := benchServe(ctx, dir, f)
		if err != nil {
			return err
		}
		res.Serve = srv
		if !f.json {
			for _, c := range serveCases {
				fmt.Fprintf(g.stdio.Out, "serve %s edit: reload %.0f ms later\n", c, srv[c]*1000)
			}
		}
	}
	if f.run != "" {
		r, err := benchLive(ctx, dir, f.run, f)
		if err != nil {
			return err
		}
		res.Run = r
		if !f.json {
			for _, c := range []string{"single", "stream"} {
				l := r[c]
				fmt.Fprintf(g.stdio.Out, "run %s: %d updates, commit to target: median %.0f ms, p99 %.0f ms, max %.0f ms\n",
					c, l.Updates, l.Median*1000, l.P99*1000, l.Max*1000)
			}
		}
	}
	if f.assets {
		a, err := benchAssets(ctx, dir, f)
		if err != nil {
			return err
		}
		res.Assets = a
		if !f.json {
			for _, side := range []string{"off", "on"} {
				r := a[side]
				fmt.Fprintf(g.stdio.Out, "assets %s: median of %d: %.2fs (%.0f pages/s), %s written, peak RSS %s\n",
					side, len(r.Runs), r.Seconds, r.PagesPerSecond, humanBytes(r.Bytes), humanBytes(r.PeakRSSBytes))
			}
			if off := a["off"]; off.Seconds > 0 && off.Bytes > 0 {
				fmt.Fprintf(g.stdio.Out, "assets on/off: %.2f× the time, %.2f× the bytes\n", a["on"].Seconds/off.Seconds, float64(a["on"].Bytes)/float64(off.Bytes))
			}
		}
	}
	if f.json {
		enc := json.NewEncoder(g.stdio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(g.stdio.Out, "median of %d: %d pages in %.2fs = %.0f pages/s; peak RSS %s (max); %s written; %d CPUs\n",
		f.runs, res.Pages, res.Seconds, res.PagesPerSecond, humanBytes(res.PeakRSSBytes), humanBytes(res.Bytes), res.CPUs)
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// prepareBench writes the site and its database, reusing a database that
// already holds the requested rows.
func prepareBench(ctx context.Context, dir string, f benchFlags) error {
	if err := benchsite.WriteSite(dir); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	dbPath := filepath.Join(dir, "bench.db")
	stamp := filepath.Join(dir, "bench.db.stamp")
	want := fmt.Sprintf("items=%d seed=%d schema=%d\n", f.items, f.seed, benchsite.SchemaVersion)
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		if _, err := os.Stat(dbPath); err == nil {
			return nil
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm", ".stamp"} {
		os.Remove(dbPath + suffix)
	}
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	err = benchsite.Populate(ctx, db, benchsite.DialectSQLite, benchsite.Options{Items: f.items, Seed: f.seed})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

// benchBuild runs bake build --full --json on dir in a child process, so
// that its wall time and peak RSS are the build's alone (--full: with
// change capture installed in a kept folder, a build would be incremental).
func benchBuild(ctx context.Context, dir string, args ...string) (benchRun, error) {
	out, wall, err := runChild(ctx, append([]string{"build", "--full", "--json", "-C", dir}, args...)...)
	if err != nil {
		return benchRun{}, err
	}
	var rep struct {
		Pages   int     `json:"pages"`
		Bytes   int64   `json:"bytes"`
		Seconds float64 `json:"seconds"`
		PeakRSS int64   `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return benchRun{}, fmt.Errorf("bench: read build report: %w", err)
	}
	// The child reports its own peak: the rusage of a child started by
	// fork and exec also counts the parent's memory at that moment.
	run := benchRun{Seconds: wall.Seconds(), BuildSeconds: rep.Seconds, Pages: rep.Pages, Bytes: rep.Bytes, PeakRSSBytes: rep.PeakRSS}
	removal, err := waitRemoved(ctx, filepath.Join(dir, "_site"))
	if err != nil {
		return benchRun{}, err
	}
	run.RemovalSeconds = removal.Seconds()
	if run.Seconds > 0 {
		run.PagesPerSecond = float64(run.Pages) / run.Seconds
	}
	return run, nil
}

// waitRemoved waits until the folders that builds of final left beside it
// (the build a full build replaced, removed in the background) are gone,
// for at most removalLimit.
func waitRemoved(ctx context.Context, final string) (time.Duration, error) {
	start := time.Now()
	parent := filepath.Dir(final)
	for {
		if time.Since(start) > removalLimit {
			return 0, fmt.Errorf("bench: the build replaced in %s was not removed within %s; remove the .%s.old-* folders beside it", final, removalLimit, filepath.Base(final))
		}
		entries, err := os.ReadDir(parent)
		if err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
		if !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return output.IsLeftover(final, filepath.Join(parent, e.Name())) }) {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// removalLimit bounds the wait for a replaced build's removal: at 1M items
// on a slow disk it took 7 minutes.
const removalLimit = 30 * time.Minute

// runChild runs bake with args in a child process and returns its stdout
// and wall time.
func runChild(ctx context.Context, args ...string) ([]byte, time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, fmt.Errorf("bench: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "BAKE_TEST_MAIN=1") // lets a test binary act as bake
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, wall, fmt.Errorf("bench: bake %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), wall, nil
}

// benchPublish times a full publish, a no-op publish, and a publish after
// one row changed and the site was rebuilt, each as its own process.
func benchPublish(ctx context.Context, dir string, f benchFlags) (map[string]publishRun, error) {
	one := func() (publishRun, error) {
		out, wall, err := runChild(ctx, "publish", "--json", "-C", dir, "--to", f.publish, "--force")
		if err != nil {
			return publishRun{}, err
		}
		var rep struct {
			Result struct {
				Uploaded  int   `json:"uploaded"`
				Deleted   int   `json:"deleted"`
				BytesSent int64 `json:"bytes_sent"`
			} `json:"result"`
			PeakRSS int64 `json:"peak_rss_bytes"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			return publishRun{}, fmt.Errorf("bench: read publish report: %w", err)
		}
		return publishRun{Seconds: wall.Seconds(), Uploaded: rep.Result.Uploaded, Deleted: rep.Result.Deleted,
			BytesSent: rep.Result.BytesSent, PeakRSSBytes: rep.PeakRSS}, nil
	}
	res := map[string]publishRun{}
	var err error
	if res["full"], err = one(); err != nil {
		return nil, err
	}
	if res["noop"], err = one(); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	_, err = benchsite.Mutate(ctx, db, benchsite.DialectSQLite, benchsite.MutateTitle, benchsite.Options{Items: f.items, Seed: f.seed})
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	os.Remove(filepath.Join(dir, "bench.db.stamp")) // the data no longer matches the seed
	if _, _, err := runChild(ctx, "build", "-q", "--wait-removal", "-C", dir); err != nil {
		return nil, err
	}
	if res["one_change"], err = one(); err != nil {
		return nil, err
	}
	return res, nil
}

// incrementalCases are the cases of bake bench --incremental, in order.
var incrementalCases = []string{"nochange", benchsite.MutateTitle, benchsite.MutateUnpublish, benchsite.MutateInsert, benchsite.MutateDelete}

// benchIncremental installs change capture, then times incremental builds
// after each kind of change, f.runs times each, and returns the medians.
func benchIncremental(ctx context.Context, dir string, f benchFlags) (map[string]incrementalRun, error) {
	db, err := benchCapture(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// One build to consume anything pending and settle the index.
	if _, _, err := runChild(ctx, "build", "-q", "--wait-removal", "-C", dir); err != nil {
		return nil, err
	}
	out := map[string]incrementalRun{}
	for _, c := range incrementalCases {
		var runs []incrementalRun
		for range f.runs {
			if c != "nochange" {
				if _, err := benchsite.Mutate(ctx, db, benchsite.DialectSQLite, c, benchsite.Options{Items: f.items, Seed: f.seed}); err != nil {
					return nil, fmt.Errorf("bench: %w", err)
				}
			}
			b, wall, err := runChild(ctx, "build", "--json", "-C", dir)
			if err != nil {
				return nil, err
			}
			var rep struct {
				Seconds     float64 `json:"seconds"`
				Rendered    int     `json:"rendered"`
				Written     int     `json:"written"`
				Removed     int     `json:"removed"`
				Incremental bool    `json:"incremental"`
				PeakRSS     int64   `json:"peak_rss_bytes"`
				Routes      map[string]struct {
					Pages int `json:"pages"`
				} `json:"routes"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				return nil, fmt.Errorf("bench: read build report: %w", err)
			}
			if !rep.Incremental {
				return nil, fmt.Errorf("bench: the %s build was not incremental", c)
			}
			lists := map[string]int{}
			for _, l := range benchLists {
				lists[l] = rep.Routes[l].Pages
			}
			runs = append(runs, incrementalRun{Seconds: wall.Seconds(), BuildSeconds: rep.Seconds, Rendered: rep.Rendered,
				Written: rep.Written, Removed: rep.Removed, Incremental: rep.Incremental, PeakRSSBytes: rep.PeakRSS, ListPages: lists})
		}
		slices.SortFunc(runs, func(a, b incrementalRun) int { return cmpFloat(a.BuildSeconds, b.BuildSeconds) })
		med := runs[len(runs)/2]
		slices.SortFunc(runs, func(a, b incrementalRun) int { return cmpFloat(a.Seconds, b.Seconds) })
		med.Seconds = runs[len(runs)/2].Seconds
		for _, r := range runs { // memory: the most any run took, not the median's
			med.PeakRSSBytes = max(med.PeakRSSBytes, r.PeakRSSBytes)
		}
		out[c] = med
	}
	return out, nil
}
