package sqlsite

import (
	"bufio"
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
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
	"github.com/bakehq/bake/internal/sqlscan"
)

// feed renders an RSS 2.0 or Atom feed of a query's rows.
func (b *buildRun) feed(r *Route) bool {
	s := b.site
	link, _ := parsePattern(r.Link)
	var items []feedItem
	var rows []Row
	err := b.stream(r, ordered(r, "", ""), nil, func(row Row) bool {
		rows = append(rows, row)
		return true
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	for _, row := range rows {
		p, err := link.fillEscaped(func(k string) (any, bool) { v, ok := row[k]; return v, ok })
		if err != nil {
			if !b.fail(r, r.Path, keyString(row[r.Key]), fmt.Errorf("link: %w", err)) {
				return false
			}
			continue
		}
		// The row's values are escaped whole (a ? or # in a slug too), the
		// link pattern's own text is kept (a #fragment in it stays one).
		it := feedItem{Link: s.funcs.absurl(p), Title: text(row[r.Columns.Title])}
		if r.Date != "" {
			it.Date, _ = asTime(row[r.Date])
		}
		if r.Columns.Summary != "" {
			it.Summary = text(row[r.Columns.Summary])
		}
		if r.Columns.Author != "" {
			it.Author = text(row[r.Columns.Author])
		}
		if r.Columns.Content != "" {
			it.content = text(row[r.Columns.Content])
		}
		items = append(items, it)
	}
	title := r.Title
	if title == "" {
		title = s.cfg.Site.Title
	}
	ct := "application/rss+xml; charset=utf-8"
	if r.Format == "atom" {
		ct = "application/atom+xml; charset=utf-8"
	}
	page := &bake.Page{
		Path: r.Path, Route: r.Name, ContentType: ct,
		Deps: bake.SortDeps(rowDeps(r, rows)),
		Render: func(ctx context.Context, w io.Writer) error {
			for i := range items {
				if items[i].content != "" {
					h, err := s.funcs.markdown(items[i].content)
					if err != nil {
						return err
					}
					items[i].Content = string(h)
				}
			}
			f := feedDoc{Title: title, Self: s.funcs.absurl(bake.EscapePath(r.Path)), Home: s.cfg.Site.BaseURL + "/", Items: items}
			if r.Format == "atom" {
				return writeAtom(w, &f)
			}
			return writeRSS(w, &f)
		},
	}
	return b.emit(page)
}

func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case template.HTML:
		return string(v)
	}
	return fmt.Sprint(v)
}

type feedItem struct {
	Title, Link, Summary, Content, Author string
	Date                                  time.Time
	content                               string // Markdown source
}

type feedDoc struct {
	Title, Self, Home string
	Items             []feedItem
}

// updated returns the newest item date, so that a feed's bytes change only
// when its items do.
func (f *feedDoc) updated() time.Time {
	var t time.Time
	for _, it := range f.Items {
		if it.Date.After(t) {
			t = it.Date
		}
	}
	if t.IsZero() {
		t = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC()
}

func writeRSS(w io.Writer, f *feedDoc) error {
	type guid struct {
		IsPermaLink string `xml:"isPermaLink,attr"`
		Value       string `xml:",chardata"`
	}
	type item struct {
		Title       string `xml:"title"`
		Link        string `xml:"link"`
		GUID        guid   `xml:"guid"`
		PubDate     string `xml:"pubDate,omitempty"`
		Creator     string `xml:"dc:creator,omitempty"`
		Description string `xml:"description,omitempty"`
		Content     *struct {
			V string `xml:",cdata"`
		} `xml:"content:encoded,omitempty"`
	}
	type atomLink struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
		Type string `xml:"type,attr"`
	}
	type channel struct {
		Title         string   `xml:"title"`
		Link          string   `xml:"link"`
		Description   string   `xml:"description"`
		Self          atomLink `xml:"atom:link"`
		LastBuildDate string   `xml:"lastBuildDate"`
		Items         []item   `xml:"item"`
	}
	type rss struct {
		XMLName   xml.Name `xml:"rss"`
		Version   string   `xml:"version,attr"`
		Atom      string   `xml:"xmlns:atom,attr"`
		ContentNS string   `xml:"xmlns:content,attr"`
		DC        string   `xml:"xmlns:dc,attr"`
		Channel   channel  `xml:"channel"`
	}
	doc := rss{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", ContentNS: "http://purl.org/rss/1.0/modules/content/", DC: "http://purl.org/dc/elements/1.1/",
		Channel: channel{Title: f.Title, Link: f.Home, Description: f.Title,
			Self:          atomLink{Href: f.Self, Rel: "self", Type: "application/rss+xml"},
			LastBuildDate: f.updated().Format(time.RFC1123Z)}}
	for _, it := range f.Items {
		x := item{Title: it.Title, Link: it.Link, GUID: guid{"true", it.Link}, Creator: it.Author, Description: it.Summary}
		if !it.Date.IsZero() {
			x.PubDate = it.Date.UTC().Format(time.RFC1123Z)
		}
		if it.Content != "" {
			x.Content = &struct {
				V string `xml:",cdata"`
			}{it.Content}
			if x.Description == "" {
				x.Description = it.Content
			}
		}
		doc.Channel.Items = append(doc.Channel.Items, x)
	}
	return writeXML(w, doc)
}

func writeAtom(w io.Writer, f *feedDoc) error {
	type link struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr,omitempty"`
	}
	type textC struct {
		Type  string `xml:"type,attr,omitempty"`
		Value string `xml:",chardata"`
	}
	type author struct {
		Name string `xml:"name"`
	}
	type entry struct {
		Title   string  `xml:"title"`
		Link    link    `xml:"link"`
		ID      string  `xml:"id"`
		Updated string  `xml:"updated"`
		Author  *author `xml:"author,omitempty"`
		Summary *textC  `xml:"summary,omitempty"`
		Content *textC  `xml:"content,omitempty"`
	}
	type feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Title   string   `xml:"title"`
		ID      string   `xml:"id"`
		Links   []link   `xml:"link"`
		Updated string   `xml:"updated"`
		Entries []entry  `xml:"entry"`
	}
	doc := feed{Title: f.Title, ID: f.Self, Links: []link{{f.Self, "self"}, {f.Home, "alternate"}},
		Updated: f.updated().Format(time.RFC3339)}
	for _, it := range f.Items {
		d := it.Date
		if d.IsZero() {
			d = f.updated()
		}
		e := entry{Title: it.Title, Link: link{Href: it.Link}, ID: it.Link, Updated: d.UTC().Format(time.RFC3339)}
		if it.Author != "" {
			e.Author = &author{it.Author}
		}
		if it.Summary != "" {
			e.Summary = &textC{Value: it.Summary}
		}
		if it.Content != "" {
			e.Content = &textC{Type: "html", Value: it.Content}
		}
		doc.Entries = append(doc.Entries, e)
	}
	return writeXML(w, doc)
}

func writeXML(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write xml: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// redirects renders redirect pages: an HTML page with a meta refresh and a
// canonical link, recorded with its target so publish can set object redirects.
func (b *buildRun) redirects(r *Route) bool {
	type move struct{ from, to, key string }
	var moves []move
	var deps []bake.Dep
	froms := make([]string, 0, len(r.Redirects))
	for f := range r.Redirects {
		froms = append(froms, f)
	}
	slices.Sort(froms)
	// A redirect's row key is its source path, unless its query returns
	// the route's key column.
	for _, f := range froms {
		moves = append(moves, move{f, r.Redirects[f], f})
	}
	if r.Query != "" {
		for _, t := range sqlscan.Tables(r.Query) {
			deps = append(deps, bake.TableDep(t))
		}
		err := b.stream(r, ordered(r, "", ""), nil, func(row Row) bool {
			from := text(row["source"])
			key := from
			if r.keyCol {
				key = keyString(row[r.Key])
			}
			moves = append(moves, move{from, text(row["target"]), key})
			return true
		})
		if err != nil {
			return b.fail(r, "", "", err)
		}
	}
	for _, m := range moves {
		if _, err := bake.FileName(m.from); err != nil {
			if !b.fail(r, m.from, m.key, fmt.Errorf("redirect source: %w", err)) {
				return false
			}
			continue
		}
		if m.to == "" {
			if !b.fail(r, m.from, m.key, fmt.Errorf("redirect has no target")) {
				return false
			}
			continue
		}
		target := m.to
		href := target
		if strings.HasPrefix(target, "/") {
			href = bake.EscapePath(target)
		}
		canonical := b.site.funcs.absurl(href)
		page := &bake.Page{
			Path: m.from, Route: r.Name, Key: m.key, Redirect: target, Deps: bake.SortDeps(slices.Clone(deps)),
			Render: func(ctx context.Context, w io.Writer) error {
				return redirectHTML.Execute(w, map[string]string{"Href": href, "Canonical": canonical})
			},
		}
		if !b.emit(page) {
			return false
		}
	}
	return true
}

var redirectHTML = template.Must(template.New("redirect").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redirecting…</title>
<link rel="canonical" href="{{.Canonical}}">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={{.Href}}">
</head><body><p>This page has moved to <a href="{{.Href}}">{{.Href}}</a>.</p></body></html>
`))

// sitemapCollector records the HTML pages of a pass in an unlinked temp
// file, so that memory does not grow with the number of pages.
type sitemapCollector struct {
	f       *os.File
	w       *bufio.Writer
	n       int
	size    int64
	exclude []string
}

// sitemapMax is the most URLs a sitemap file lists (the protocol's limit).
var sitemapMax = 50000

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

// sitemapPages yields the sitemap, split into an index and parts past
// 50,000 URLs.
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
	if c.n <= sitemapMax {
		return b.emitUnlisted(&bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, 0, c.n) }})
	}
	parts := (c.n + sitemapMax - 1) / sitemapMax
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
	for i := 0; i < parts; i++ {
		count := min(sitemapMax, c.n-i*sitemapMax)
		from := i * sitemapMax
		if !b.emitUnlisted(&bake.Page{Path: part(i), Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, from, count) }}) {
			return false
		}
	}
	return true
}
