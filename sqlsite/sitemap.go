package sqlsite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/sqlscan"
	"github.com/cespare/xxhash/v2"
)

// sitemapCollector records the HTML pages of a pass in an unlinked temp
// file, so that memory does not grow with the number of pages.
type sitemapCollector struct {
	f       *os.File
	w       *bufio.Writer
	n       int
	size    int64
	exclude []string
}

func newSitemapCollector(exclude []string) (*sitemapCollector, error) {
	f, err := os.CreateTemp("", "bake-sitemap-*")
	if err != nil {
		return nil, fmt.Errorf("sitemap: %w", err)
	}
	os.Remove(f.Name()) // the open file stays readable; nothing is left behind
	return &sitemapCollector{f: f, w: bufio.NewWriterSize(f, 64<<10), exclude: exclude}, nil
}

// excluded reports whether a sitemap's exclude list leaves the page at
// path out: an entry is a path prefix, but for one naming a folder's
// index.html, which is that folder's page alone (/about/index.html is the
// page /about/, not every page under it).
func excluded(exclude []string, path string) bool {
	for _, e := range exclude {
		if strings.HasSuffix(e, "/index.html") {
			if path == pagePath(e) {
				return true
			}
		} else if strings.HasPrefix(path, e) {
			return true
		}
	}
	return false
}

func (c *sitemapCollector) add(p *bake.Page) {
	if excluded(c.exclude, p.Path) {
		return
	}
	var lm int64
	if !p.LastMod.IsZero() {
		lm = p.LastMod.Unix()
	}
	c.addPath(p.Path, lm)
}

// addPath records one URL of the sitemap; lastmod is in Unix seconds, 0
// when unknown.
func (c *sitemapCollector) addPath(path string, lastmod int64) {
	c.n++
	line := strconv.FormatInt(lastmod, 10) + "\t" + path + "\n"
	c.w.WriteString(line)
	c.size += int64(len(line))
}

// sorted reads back the collected URLs, sorted by path, as "lastmod\tpath"
// strings sharing one buffer, so that a full and an incremental build list
// them in the same order.
func (c *sitemapCollector) sorted() ([]string, error) {
	buf := make([]byte, c.size)
	if _, err := c.f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	c.f.Close()
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	lines := make([]string, 0, c.n)
	for line := range strings.SplitSeq(strings.TrimSuffix(all, "\n"), "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	pathOf := func(l string) string { return l[strings.IndexByte(l, '\t')+1:] }
	if !slices.IsSortedFunc(lines, func(a, b string) int { return strings.Compare(pathOf(a), pathOf(b)) }) {
		slices.SortFunc(lines, func(a, b string) int { return strings.Compare(pathOf(a), pathOf(b)) })
	}
	return lines, nil
}

// sitemapPart returns the path of part i (from 0) of a sitemap split in
// parts: /sitemap.xml → /sitemap-1.xml, …
func sitemapPart(r *Route, i int) string {
	dir := r.Path[:strings.LastIndexByte(r.Path, '/')+1]
	return dir + strings.TrimSuffix(r.Path[len(dir):], ".xml") + "-" + strconv.Itoa(i+1) + ".xml"
}

// A sitemap of more than Options.SitemapMax URLs is an index of parts,
// each listing a run of the URLs in path order. Where a part starts
// depends on the URLs there alone, not on how many come before: at a URL
// whose loc, as the file has it (escaped), hashes (locHash) to a multiple
// of a tenth of the limit (at least 2), so that a part lists about 5,000 URLs
// (500 KB) at the default limit; a run longer than the limit between two such URLs
// (rare) is cut in equal pieces. An update that adds or removes a page
// then rewrites the one part that lists it. Cut every 50,000 URLs, as they
// were, an insert among the first paths shifted every later part: 10 MB
// rewritten at 100,000 pages. A page whose URL starts a part splits or
// joins two parts when it comes or goes (one in 5,000), and the parts
// after it are renumbered.

// sitemapCuts returns the first URL of each part of a sitemap of n URLs,
// at most limit a file, or nil when one file lists them all; loc returns
// the loc of URL i (see above).
func sitemapCuts(n, limit int, loc func(i int) []byte) []int {
	if n <= limit {
		return nil
	}
	return sitemapRuns(n, limit, loc)
}

// sitemapRuns returns the first URL of each part of n URLs cut by
// sitemapCuts's rule, the first starting a part whatever its loc.
func sitemapRuns(n, limit int, loc func(i int) []byte) []int {
	var cuts []int
	start := 0
	run := func(end int) { // the URLs from start to end, in as few equal pieces as fit
		size := end - start
		pieces := (size + limit - 1) / limit
		for j := range pieces {
			cuts = append(cuts, start+j*size/pieces)
		}
		start = end
	}
	for i := 1; i < n; i++ {
		if sitemapStarts(loc(i), limit) {
			run(i)
		}
	}
	if n > 0 {
		run(n)
	}
	return cuts
}

// sitemapStarts reports whether a URL with this loc starts a part of a
// sitemap in parts of at most limit URLs.
func sitemapStarts(loc []byte, limit int) bool {
	return locHash(loc)%uint64(max(2, limit/10)) == 0
}

// locHash is a hash of a sitemap URL's loc that does not change between
// builds or versions of bake: XXH64, seed 0.
func locHash(b []byte) uint64 { return xxhash.Sum64(b) }

// sitemapLoc returns the loc of a urlset line ("<url><loc>…</loc>…</url>"),
// found from the end of the lines sitemapLine writes (a loc is escaped:
// it holds no "<"), and by a search in others.
func sitemapLoc(line []byte) []byte {
	const (
		open   = "<url><loc>"
		bare   = "</loc></url>"
		dated  = "</loc><lastmod>2006-01-02T15:04:05Z</lastmod></url>"
		dateAt = len("</loc><lastmod>")
	)
	rest := line[min(len(line), len(open)):]
	if bytes.HasSuffix(rest, []byte(bare)) {
		return rest[:len(rest)-len(bare)]
	}
	if n := len(rest) - len(dated); n >= 0 && string(rest[n:n+dateAt]) == dated[:dateAt] && bytes.HasSuffix(rest, []byte("</lastmod></url>")) {
		return rest[:n]
	}
	if i := bytes.Index(rest, []byte("</loc>")); i >= 0 {
		return rest[:i]
	}
	return rest
}

// sitemapPages yields the sitemap, split into an index and parts past
// Options.SitemapMax URLs (50,000; see sitemapCuts).
func (b *buildRun) sitemapPages(r *Route) bool {
	c := b.sitemap
	b.sitemap = nil
	if err := c.w.Flush(); err != nil {
		return b.fail(r, r.Path, "", fmt.Errorf("sitemap: %w", err))
	}
	var deps []bake.Dep
	for _, rr := range b.site.cfg.Routes {
		for _, t := range sqlscan.Tables(rr.Query) {
			deps = append(deps, bake.TableDep(t))
		}
	}
	deps = bake.SortDeps(deps)
	const ct = "application/xml; charset=utf-8"
	base := b.site.cfg.Site.BaseURL
	part := func(i int) string { return sitemapPart(r, i) }
	lines, err := c.sorted()
	if err != nil {
		return b.fail(r, r.Path, "", fmt.Errorf("sitemap: %w", err))
	}
	writeURLs := func(w io.Writer, from, count int) error {
		bw := bufio.NewWriter(w)
		bw.WriteString(xml.Header + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
		for _, line := range lines[from : from+count] {
			lm, path, _ := strings.Cut(line, "\t")
			bw.WriteString("<url><loc>")
			xml.EscapeText(bw, []byte(base+bake.EscapePath(path)))
			bw.WriteString("</loc>")
			if sec, _ := strconv.ParseInt(lm, 10, 64); sec != 0 {
				bw.WriteString("<lastmod>" + time.Unix(sec, 0).UTC().Format(time.RFC3339) + "</lastmod>")
			}
			bw.WriteString("</url>\n")
		}
		bw.WriteString("</urlset>\n")
		return bw.Flush()
	}
	var loc bytes.Buffer
	cuts := sitemapCuts(c.n, b.site.sitemapMax, func(i int) []byte {
		_, path, _ := strings.Cut(lines[i], "\t")
		loc.Reset()
		xml.EscapeText(&loc, []byte(base+bake.EscapePath(path)))
		return loc.Bytes()
	})
	if cuts == nil {
		return b.emitUnlisted(&bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, 0, c.n) }})
	}
	parts := len(cuts)
	index := &bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
		Render: func(ctx context.Context, w io.Writer) error {
			bw := bufio.NewWriter(w)
			bw.WriteString(xml.Header + `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
			for i := 0; i < parts; i++ {
				bw.WriteString("<sitemap><loc>")
				xml.EscapeText(bw, []byte(base+bake.EscapePath(part(i))))
				bw.WriteString("</loc></sitemap>\n")
			}
			bw.WriteString("</sitemapindex>\n")
			return bw.Flush()
		}}
	if !b.emitUnlisted(index) {
		return false
	}
	for i, from := range cuts {
		end := c.n
		if i+1 < parts {
			end = cuts[i+1]
		}
		if !b.emitUnlisted(&bake.Page{Path: part(i), Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, from, end-from) }}) {
			return false
		}
	}
	return true
}
