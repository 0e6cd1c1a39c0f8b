package sqlsite

import (
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bakehq/bake"
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
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
		it := feedItem{Link: s.funcs.absurl(p), Title: feedHTML(text(row[r.Columns.Title]))}
		if r.Date != "" {
			it.Date, _ = asTime(row[r.Date])
		}
		if r.Columns.Summary != "" {
			it.Summary = feedHTML(text(row[r.Columns.Summary]))
		}
		if r.Columns.Author != "" {
			it.Author = feedHTML(text(row[r.Columns.Author]))
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
					items[i].Content = feedHTML(absoluteLinks(string(h), s.cfg.Site.BaseURL))
				}
			}
			f := feedDoc{Title: title, Self: s.funcs.absurl(bake.EscapePath(r.Path)), Home: s.cfg.Site.BaseURL + "/", Items: items,
				Author: cmp.Or(s.cfg.Site.Title, title, s.cfg.Site.BaseURL)}
			if r.Format == "atom" {
				return writeAtom(w, &f)
			}
			return writeRSS(w, &f)
		},
	}
	return b.emit(page)
}

// absoluteLinks makes the root-relative links of html (href="/…" and
// src="/…", as Markdown writes them) absolute against base: a feed reader
// resolves a link against the feed's address, or not at all.
func absoluteLinks(html, base string) string {
	if base == "" || !strings.Contains(html, `="/`) {
		return html
	}
	var b strings.Builder
	for {
		i := strings.Index(html, `="/`)
		if i < 0 {
			break
		}
		rest := html[i+2:] // from the /
		abs := !strings.HasPrefix(rest, "//") &&
			(strings.HasSuffix(html[:i], " href") || strings.HasSuffix(html[:i], " src"))
		b.WriteString(html[:i+2])
		if abs {
			b.WriteString(base)
		}
		html = rest
	}
	b.WriteString(html)
	return b.String()
}

// feedHTML replaces in the HTML of an item's content what a page's HTML
// cannot hold either (control characters but whitespace: see
// controlFilter), so that the feed carries the page's HTML, and what XML
// cannot (bytes that are not UTF-8, U+FFFE, U+FFFF): RSS writes content
// as CDATA, which nothing escapes, and one such character would make the
// whole feed unreadable. An item's title, summary and author get it too:
// a reader shows them as text in its HTML, as a page would.
func feedHTML(h string) string {
	bad := func(r rune) bool {
		return forbiddenControl(r) || r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF
	}
	if !strings.ContainsFunc(h, bad) {
		return h
	}
	return strings.Map(func(r rune) rune {
		if bad(r) {
			return utf8.RuneError
		}
		return r
	}, h)
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
	Author            string // of entries without one (Atom): the site's title
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
		if e.Author == nil && f.Author != "" {
			// RFC 4287 wants an author on every entry (or on the feed):
			// the site's name stands in for a missing column.
			e.Author = &author{f.Author}
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
