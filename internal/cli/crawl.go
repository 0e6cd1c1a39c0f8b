package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/bakehq/bake/crawl"
	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"
)

type crawlFlags struct {
	output       string
	baseURL      string
	concurrency  int
	rate         float64
	ignoreRobots bool
	asJSON       bool
	quiet        bool
}

func crawlCmd(g *globals) *cobra.Command {
	var f crawlFlags
	cmd := &cobra.Command{
		Use:   "crawl URL",
		Short: "Freeze a running site into the build folder by following its links",
		Long: `Crawl fetches a running site of any stack and writes its pages into the
build folder (default _site) with their manifest, as a full build does, so
that bake publish, releases and rollback work for it.

It starts from /, /robots.txt and the sitemaps (/sitemap.xml and those
robots.txt names), and follows the links of each page (a, link, script,
img, srcset, CSS url(), sitemap and feed URLs) to other pages of the same
site: the URL's host, or the base URL's. It keeps only 200s; redirects
become redirect entries; 404s and errors are reported as broken links,
with the pages linking to them, and make bake crawl exit 1 (the build is
still written). Links with a query string are not followed, nor paths
robots.txt disallows for every robot (--ignore-robots follows them).

The origin's address in HTML, CSS, JavaScript, XML and JSON is rewritten
to the base URL (--base-url, default [site] base_url of bake.toml when
there is one). A second crawl asks with If-None-Match and
If-Modified-Since and keeps the file of a page that did not change.

A crawl replaces the build folder whole, atomically, like bake build: do
not crawl into the build folder of a bake.toml site or of bake proxy.
See docs/crawl.md.`,
		Example: `  bake crawl http://127.0.0.1:8000
  bake crawl http://127.0.0.1:8000 --base-url https://example.org -o public
  bake crawl http://127.0.0.1:8000 --concurrency 2 --rate 10   # be gentle
  bake crawl http://127.0.0.1:8000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCrawl(cmd.Context(), g, args[0], f)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "build folder to write (default: [site] output of bake.toml, or _site)")
	cmd.Flags().StringVar(&f.baseURL, "base-url", "", "the site's public `URL`, which the origin's address is rewritten to (default: [site] base_url)")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 4, "requests under way at once")
	cmd.Flags().Float64Var(&f.rate, "rate", 0, "at most this many requests a second (0: no limit but --concurrency)")
	cmd.Flags().BoolVar(&f.ignoreRobots, "ignore-robots", false, "follow links robots.txt disallows")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

func runCrawl(ctx context.Context, g *globals, origin string, f crawlFlags) error {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("crawl: %q: want http://HOST:PORT or https://HOST", origin)
	}
	site, err := readCrawlSite(g.dir)
	if err != nil {
		return err
	}
	out := f.output
	if out == "" {
		out = site.Output
	}
	if out == "" {
		out = "_site"
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(g.dir, out)
	}
	base := f.baseURL
	if base == "" {
		base = site.BaseURL
	}
	log := g.logger()
	progress := &crawl.Progress{}
	stop := startProgress(ctx, g.stdio.Err, log, !f.quiet && !f.asJSON,
		progressSpec{verb: "crawling", unit: "pages", count: progress.Fetched.Load})
	rep, err := crawl.Crawl(ctx, crawl.Options{Origin: u, Output: out, BaseURL: base, Concurrency: f.concurrency,
		Rate: f.rate, IgnoreRobots: f.ignoreRobots, Logger: log, Progress: progress})
	stop()
	if err != nil {
		return err
	}
	if f.asJSON {
		enc := json.NewEncoder(g.stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdio.Out, "crawled %s into %s: %d pages, %d redirects, %d written, %d unchanged, %d requests in %.2fs\n",
			u, out, rep.Pages, rep.Redirects, rep.Written, rep.Unchanged, rep.Requests, rep.Duration.Seconds())
		for _, b := range rep.Broken {
			why := fmt.Sprint(b.Status)
			if b.Err != "" {
				why = b.Err
			}
			fmt.Fprintf(g.stdio.Out, "broken: %s (%s), linked from %s\n", b.Path, why, strings.Join(b.From, ", "))
		}
		for _, p := range rep.Problems {
			fmt.Fprintf(g.stdio.Out, "problem: %s\n", p)
		}
	}
	if len(rep.Broken) > 0 || len(rep.Problems) > 0 {
		return exitError{1}
	}
	return nil
}

// crawlSite is what bake crawl reads of a bake.toml, when there is one.
type crawlSite struct {
	Output  string `toml:"output"`
	BaseURL string `toml:"base_url"`
}

// readCrawlSite reads [site] output and base_url of dir's bake.toml;
// without a bake.toml, nothing.
func readCrawlSite(dir string) (crawlSite, error) {
	var top struct {
		Site crawlSite `toml:"site"`
	}
	file := filepath.Join(dir, "bake.toml")
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return top.Site, nil
	}
	if err != nil {
		return top.Site, fmt.Errorf("read site: %w", err)
	}
	if err := toml.Unmarshal(data, &top); err != nil {
		return top.Site, fmt.Errorf("read site: %s: %w", file, err)
	}
	return top.Site, nil
}
