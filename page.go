package bake

import (
	"context"
	"io"
	"iter"
	"time"
)

// Site is anything that can produce the pages of a website. The sqlsite
// package makes one from bake.toml; a Go program can implement it directly.
type Site interface {
	// Pages streams every page of the site. The iterator yields an error for a
	// page that could not be loaded (a bad row, a failing query) and keeps
	// going; the build reports every such error and does not publish. Pages
	// should not hold the whole site in memory: load rows as they stream.
	Pages(ctx context.Context) iter.Seq2[*Page, error]
}

// Page is one file of a site: where it goes, what it is and how to render it.
type Page struct {
	// Path is the URL path, decoded, starting with "/". A path ending in "/"
	// is written as index.html in that folder (see [FileName]).
	Path string
	// Route is the name of the route that made the page.
	Route string
	// Key identifies the row the page shows, for pages made from one row.
	Key string
	// ContentType is the media type sent with the page. If empty,
	// "text/html; charset=utf-8".
	ContentType string
	// LastMod is when the content last changed, if known (sitemaps use it).
	LastMod time.Time
	// Redirect, when set, is the path or URL this page redirects to; publish
	// may turn it into an object redirect.
	Redirect string
	// Deps lists what the page read while it was loaded. Render may record
	// more with [Track].
	Deps []Dep
	// Source, when set, is a file whose bytes are the page (a static file);
	// Render is then not called.
	Source string
	// Render writes the page's bytes. It may be called from any goroutine, and
	// must record what it reads with [Track] (ctx carries the page's tracker).
	Render func(ctx context.Context, w io.Writer) error
	// Digest, when set, is a hash of everything Render reads: its data, its
	// templates, the config. An incremental build does not render a page
	// whose previous entry has the same Digest: its file and entry stay.
	// Leave it empty when a page cannot say all it reads up front.
	Digest string
	// Rows may be set by Render of a page that lists rows: where each of
	// them is in the bytes it wrote ([RowSpans]). The build keeps it in
	// the page's entry when the bytes are written as Render made them.
	Rows *RowSpans
	// Remove, in an [Updater.Update] stream, says the page at Path is no
	// longer part of the site: its file and entry are deleted.
	Remove bool
	// Reason, in an [Updater.Update] stream, says which change made the
	// page be rendered again (shown by bake build --explain).
	Reason string
}

// HTML reports whether the page is an HTML document.
func (p *Page) HTML() bool { return IsHTML(p.Type()) }

// Type returns the page's content type, with the HTML default applied.
func (p *Page) Type() string {
	if p.ContentType == "" {
		return "text/html; charset=utf-8"
	}
	return p.ContentType
}

// IsHTML reports whether contentType is text/html.
func IsHTML(contentType string) bool {
	return len(contentType) >= 9 && contentType[:9] == "text/html"
}
