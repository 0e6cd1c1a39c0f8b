package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
	"github.com/spf13/cobra"
)

// rowQueryWarning is the number of per-page queries of one route from
// which the build warns, when the route ran at least one a page (the N+1
// problem): below it, the queries cost less than the report's noise.
const rowQueryWarning = 100

type buildFlags struct {
	json    bool
	workers int
	output  string
	quiet   bool
	full    bool
	changed []string
	explain bool
	wait    bool
	dist    distFlags // --distributed and its flags
	now     string    // --now: the time of :now, for a preview

	// production minifies HTML whatever [build] minify_html says.
	production bool
}

func buildCmd(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Render the site into the build folder, re-rendering only what changed",
		Long: `Build renders the routes of bake.toml into the build folder (default _site).

The first build, and every build with --full, renders every page into a
new folder and swaps it in for the old one only when every page rendered.
The command returns as soon as the new build is live; a background process
removes the build it replaced (--wait-removal waits for that instead: use
it in CI jobs and containers, which kill what a command leaves running; the
next build removes what was left either way).

After that, a build is incremental when it knows what changed: the rows
recorded by change capture (bake watch --install adds the triggers), the
rows named with --changed, and the templates and static files edited since
the last build. It re-renders only the pages that read those rows and files
(each page's deps are recorded in the build's index), writes only the files
whose bytes changed, and removes the pages of deleted rows. Without change
capture and without --changed, bake cannot know which rows changed, so the
build is full. A change to bake.toml always makes a full build, and so do
changes to more than a quarter of the pages (writing a new folder is then
faster; for templates and static files, past [build] full_build_pages,
2000 by default, -1 for never). Pages whose inputs did not change (a list
page before the row that moved) are not even rendered: each page's input digest is in the index.
Fragments of {{cache "name" .}} are kept in _site/.bake/fragments/ between
builds, keyed by what made them.

Either way, a build with problems changes nothing: every problem is
reported (route, page, row, template file and line) and the command exits 1.
Pending captured changes are consumed only by a build that succeeded, and
only by a build of the configured build folder: a build into another
folder (-o) is full unless --changed names what changed.

With --distributed, bake worker processes (on any machine sharing the
PostgreSQL database and the bucket) render the pages straight into the
target bucket, which then goes live at once (docs/scale-out.md): a full
build in shards of about --shard-size pages, or, once a distributed build is
live and change capture or --changed says what changed, an update of it in
parts that the workers share, by the same rules as above.`,
		Example: `  bake build                        # in a site folder
  bake build -C examples/newsroom
  bake build --json | jq .pages_per_second
  bake build --changed items:42,items:43 --explain   # rows 42 and 43 of items changed
  bake build --changed tmpl:item.html               # re-render the pages using a template
  bake build --full                                 # render everything
  bake build --distributed --to s3://bucket?region=eu-west-1   # on bake worker processes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd.Context(), g, f)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print the report as JSON on stdout")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "pages rendered at once (default: number of CPUs)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "build folder (default: [site] output of bake.toml, _site)")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print only problems")
	cmd.Flags().BoolVar(&f.full, "full", false, "render every page, even when an incremental build is possible")
	cmd.Flags().StringSliceVar(&f.changed, "changed", nil, "rows or files that changed, comma-separated: `TABLE:KEY` (items:42), table:NAME, tmpl:FILE, asset:FILE")
	cmd.Flags().BoolVar(&f.wait, "wait-removal", false, "return only once the build that a full build replaced is removed (by default a background process removes it, once the new build is live); use it where processes left behind are killed (CI jobs, containers, systemd units)")
	cmd.Flags().StringVar(&f.now, "now", "", "build the site as it will be at this `TIME` (RFC 3339, 2027-01-01T06:00:00Z, or a UTC 2027-01-01 06:00): the :now of every query reads it, so embargoed rows show; needs -o, a preview folder, and renders every page")
	cmd.Flags().BoolVar(&f.production, "production", false, "build for deployment: minify every HTML page, as [build] minify_html = true does (the first build with it, and the first without it after one, are full)")
	cmd.Flags().BoolVar(&f.explain, "explain", false, "list every page an incremental build rendered or removed, and the change that caused it")
	addDistFlags(cmd, &f.dist)
	return cmd
}

// buildResult is the JSON report of bake build.
type buildResult struct {
	*build.Report
	// Incremental is false: this is the report of a full build (an
	// incremental one is an updateResult).
	Incremental bool `json:"incremental"`
	// FullReason says why the build was full.
	FullReason     string           `json:"full_reason"`
	PagesPerSecond float64          `json:"pages_per_second"`
	PeakRSSBytes   int64            `json:"peak_rss_bytes"`
	Output         string           `json:"output"`
	Queries        map[string]int64 `json:"queries"`
	Problems       []problemJSON    `json:"problems"`
	Warnings       []string         `json:"warnings"`
	// Assets are the static files and bundles: sizes before and after
	// processing, gzipped and brotli-compressed (see docs/assets.md).
	Assets []assetJSON `json:"assets"`
}

type problemJSON struct {
	Route string `json:"route,omitempty"`
	Path  string `json:"path,omitempty"`
	Key   string `json:"key,omitempty"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
	Error string `json:"error"`
}

func runBuild(ctx context.Context, g *globals, f buildFlags) error {
	if f.dist.on {
		return runDistributed(ctx, g, f, f.dist)
	}
	r, err := rebuild(ctx, g, f, false)
	if r != nil {
		defer r.site.Close()
	}
	if r == nil || r.rep == nil {
		var probs sqlsite.Problems
		if errors.As(err, &probs) {
			return reportSetupError(g, f.json, err)
		}
		return err
	}
	if r.rep.Incremental {
		return printUpdate(g, f, r.site, r.out, &r.rep.UpdateReport, r.changes, err)
	}
	return printBuild(g, f, r.site, r.out, &r.rep.Report, r.rep.FullReason, err)
}

// rebuilt is what [rebuild] did.
type rebuilt struct {
	site    *openedSite // to close
	out     string
	rep     *build.RunReport // nil when the build did not run
	changes []bake.Change
}

// rebuild opens the site in g.dir and brings its build folder up to date
// through the engine ([build.Run]) with the changes of f (--changed, --full)
// and those change capture recorded, consumed once the build succeeded: the
// one way bake build, watch and serve build. noRowChanges says that the
// caller knows no row changed since the last build (serve, after an edit
// to files only), so that, without change capture, the build may still be
// incremental. The site returned, if any, is the caller's to close, also
// with an error (the build's problems are in its report).
func rebuild(ctx context.Context, g *globals, f buildFlags, noRowChanges bool) (*rebuilt, error) {
	tuneGC()
	log := g.logger()
	workers := f.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	clk, err := systemClock()
	if err != nil {
		return nil, err
	}
	now := clk.Now()
	if f.now != "" {
		if now, err = parseTime(f.now); err != nil {
			return nil, fmt.Errorf("--now: %w", err)
		}
	}
	site, err := openSiteWith(ctx, g.dir, workers, sqliteMmapSize, now)
	if err != nil {
		return nil, err
	}
	r := &rebuilt{site: site, out: site.output()}
	if f.output != "" {
		r.out = f.output
	}
	if f.now != "" {
		// A build of another time is a preview: the site's own build
		// folder, and what is published from it, stay at the real time.
		if f.output == "" || realPath(r.out) == realPath(site.output()) {
			return r, fmt.Errorf("--now %s: give -o a preview folder other than the site's build folder %s (a build at another time would leave pages of that time in it)", f.now, site.output())
		}
		f.full = true // the preview folder may hold another time's build
	}
	if err := site.checkOutput(ctx, r.out); err != nil {
		return r, err
	}
	for _, c := range f.changed {
		ch, err := bake.ParseChange(c)
		if err != nil {
			return r, fmt.Errorf("--changed: %w", err)
		}
		r.changes = append(r.changes, ch)
	}
	// Captured changes describe what the configured build folder lacks:
	// another folder (-o) may be older or newer than it, so a build of
	// one neither reads nor consumes them (it is full unless --changed
	// names what changed).
	var pending pendingSet
	if realPath(r.out) == realPath(site.output()) {
		if pending, err = site.pendingChanges(ctx); err != nil {
			return r, err
		}
	}
	r.changes = append(r.changes, pending.changes...)
	show := !f.json && !f.quiet
	progress := &build.Progress{}
	stopProgress := func() {}
	opts := build.RunOptions{Options: build.Options{Output: r.out, Workers: workers, Logger: log, Progress: progress, Explain: f.explain,
		Finish: site.finishOptions(f.production)}}
	if !f.wait {
		opts.RemoveReplaced = removeInBackground(r.out)
	}
	opts.BeforeFull = func(ctx context.Context, reason string) (bake.Site, error) {
		if show && output.IsBuild(r.out) {
			log.Info("full build: " + reason)
		}
		unmapped, err := r.site.unmapped(ctx)
		if err != nil {
			return nil, err
		}
		r.site = unmapped
		stopProgress = startBuildProgress(ctx, g, r.site, r.out, show, progress)
		return r.site.site, nil
	}
	r.rep, err = build.Run(ctx, site.site, build.Changes{
		List:     r.changes,
		Complete: pending.installed || noRowChanges,
		Full:     f.full,
		Applied:  func(ctx context.Context) error { return r.site.consume(ctx, pending.ids) },
	}, opts)
	stopProgress()
	return r, err
}

// startBuildProgress shows the progress of a full build of site into out;
// the returned function stops it.
func startBuildProgress(ctx context.Context, g *globals, site *openedSite, out string, show bool, progress *build.Progress) func() {
	log := g.logger()
	var estimate int64
	if show {
		estimate = previousPages(ctx, out)
		if estimate == 0 && isTerminal(g.stdio.Err) {
			// A first build: a bar needs a total, guessed from the routes'
			// row counts (a query each; only worth it on a terminal).
			if n, err := site.site.EstimatePages(ctx); err == nil {
				estimate = n
			} else {
				log.Debug("no estimate for the progress bar", "err", err)
			}
		}
	}
	return startProgress(ctx, g.stdio.Err, log, show,
		progressSpec{verb: "building", unit: "pages", total: estimate, estimate: true, count: progress.Pages.Load, phase: func() string {
			if progress.Live.Load() {
				return "live; removing the previous build"
			}
			return ""
		}})
}

// printBuild prints the report of a full build (err is the build's) and
// returns the command's error.
func printBuild(g *globals, f buildFlags, site *openedSite, out string, rep *build.Report, reason string, err error) error {
	res := &buildResult{Report: rep, FullReason: reason, Output: out, Queries: map[string]int64{}, Problems: []problemJSON{}, Warnings: []string{}}
	if rep.Seconds > 0 {
		res.PagesPerSecond = float64(rep.Pages) / rep.Seconds
	}
	res.PeakRSSBytes = peakRSS()
	res.Assets = assetReport(site.site)
	var perPage []string // routes that ran a query per page
	for name, st := range site.site.Stats() {
		res.Queries[name] = st.Queries.Load()
		pages := 0
		if rr := rep.Routes[name]; rr != nil {
			pages = rr.Pages
		}
		if n := st.RowQueries.Load(); n >= rowQueryWarning && n >= int64(pages) {
			perPage = append(perPage, fmt.Sprintf("%s (%d for %d pages)", name, n, pages))
		}
	}
	if len(perPage) > 0 {
		slices.Sort(perPage)
		res.Warnings = append(res.Warnings, fmt.Sprintf("routes running a query per page ([route.queries] with :parameters): %s; fine for hundreds of pages, slow for 100,000: a JOIN in the route's query or a site-wide [queries] entry runs once", strings.Join(perPage, ", ")))
	}
	slices.Sort(res.Warnings)
	for _, p := range rep.Problems {
		res.Problems = append(res.Problems, problemJSON{Route: p.Route, Path: p.Path, Key: p.Key, File: p.File, Line: p.Line, Error: errText(p)})
	}
	if f.json {
		enc := json.NewEncoder(g.stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printReport(g.stdio, res, f.quiet)
	}
	if err != nil {
		if !f.json {
			fmt.Fprintf(g.stdio.Err, "bake: %v\n", err)
		}
		return exitError{1}
	}
	return nil
}

// errText is a problem's cause without the location fields shown beside it.
func errText(p *bake.Error) string {
	if p.Err == nil {
		return ""
	}
	return p.Err.Error()
}

// reportSetupError prints configuration problems, one a line.
func reportSetupError(g *globals, asJSON bool, err error) error {
	var probs sqlsite.Problems
	if !errors.As(err, &probs) {
		if asJSON {
			json.NewEncoder(g.stdio.Out).Encode(map[string]any{"problems": []problemJSON{{Error: err.Error()}}})
		}
		return err
	}
	var list []problemJSON
	for _, p := range probs {
		var be *bake.Error
		if errors.As(p, &be) {
			list = append(list, problemJSON{Route: be.Route, Path: be.Path, Key: be.Key, File: be.File, Line: be.Line, Error: errText(be)})
		} else {
			list = append(list, problemJSON{Error: p.Error()})
		}
		if !asJSON {
			fmt.Fprintf(g.stdio.Err, "%v\n", p)
		}
	}
	if asJSON {
		enc := json.NewEncoder(g.stdio.Out)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"problems": list})
	} else {
		fmt.Fprintf(g.stdio.Err, "bake: %s in the site definition; nothing was built\n", plural(len(probs), "problem"))
	}
	return exitError{1}
}

func printReport(stdio Stdio, res *buildResult, quiet bool) {
	printProblems(stdio.Err, res.Report.Problems)
	if quiet {
		return
	}
	rep := res.Report
	verb := "built"
	if !rep.Committed {
		verb = "rendered (not published to the build folder)"
	}
	fmt.Fprintf(stdio.Out, "%s %d pages (%s) in %s: %.0f pages/s → %s\n", verb, rep.Pages, humanBytes(rep.Bytes), rep.Duration.Round(time.Millisecond), res.PagesPerSecond, res.Output)
	names := make([]string, 0, len(rep.Routes))
	for n := range rep.Routes {
		names = append(names, n)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\tpages\tbytes\tqueries\trender\t")
	for _, n := range names {
		r := rep.Routes[n]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t\n", n, r.Pages, humanBytes(r.Bytes), res.Queries[n], r.Render.Round(time.Millisecond))
	}
	tw.Flush()
	printAssets(stdio.Out, res.Assets)
	if len(rep.Slowest) > 0 {
		var parts []string
		for _, s := range rep.Slowest[:min(3, len(rep.Slowest))] {
			parts = append(parts, fmt.Sprintf("%s %s", s.Path, s.Duration.Round(time.Microsecond)))
		}
		fmt.Fprintf(stdio.Out, "slowest: %s\n", strings.Join(parts, ", "))
	}
	if rep.RemovingInBackground {
		fmt.Fprintln(stdio.Out, "the previous build is being removed in the background (--wait-removal to wait for it)")
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stdio.Err, "warning: %s\n", w)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// printProblems prints every problem, except that one cause repeated on
// many pages (a template error that every page hits) is printed once
// for its first few pages, with a count of the others.
func printProblems(w io.Writer, problems []*bake.Error) {
	const shown = 3
	type cause struct {
		route, file string
		line        int
		err         string
	}
	seen := map[cause]int{}
	var order []cause
	for _, p := range problems {
		c := cause{p.Route, p.File, p.Line, errText(p)}
		if seen[c] == 0 {
			order = append(order, c)
		}
		seen[c]++
		if seen[c] <= shown {
			fmt.Fprintf(w, "problem: %v\n", p)
		}
	}
	for _, c := range order {
		if n := seen[c]; n > shown {
			fmt.Fprintf(w, "problem: … and %d more pages of route %q with the same error\n", n-shown, c.route)
		}
	}
}

// plural formats a count with a noun: "1 problem", "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// previousPages returns the pages of the build in out, the progress
// bar's estimate of a new one; 0 when there is none.
func previousPages(ctx context.Context, out string) int64 {
	n, err := build.IndexPages(ctx, out)
	if err != nil {
		return 0
	}
	return int64(n)
}

// finishOptions returns what a build does to each page once rendered:
// the [build] table of bake.toml, with HTML minification on in production.
// It tells the site whether its pages are minified.
func (o *openedSite) finishOptions(production bool) build.FinishOptions {
	c := o.cfg.Build
	f := build.FinishOptions{
		MinifyHTML:  c.MinifyHTML || production,
		Precompress: precompress.Options{Codings: c.Precompress, MinSize: c.PrecompressMin},
	}
	o.site.MinifiesHTML(f.MinifyHTML)
	return f
}
