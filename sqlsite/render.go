package sqlsite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"time"
	"unsafe"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/sqlscan"
)

// PageData is what a template sees as dot.
type PageData struct {
	Site   SiteInfo
	Page   PageInfo
	Row    Row              // detail routes: the row
	Rows   []Row            // list and archive routes: the rows of this page
	Group  any              // grouped lists: the group's value
	Pager  *Pager           // list and archive routes
	Period *Period          // archive routes
	Data   map[string][]Row // site queries and route queries, by name
}

// SiteInfo is .Site in templates.
type SiteInfo struct {
	Title   string
	BaseURL string
}

// PageInfo is .Page in templates.
type PageInfo struct {
	Path  string // decoded path
	URL   string // escaped path, for links
	Route string
}

// Pager is .Pager in templates: where this page sits in its list.
type Pager struct {
	Number     int // this page, from 1
	TotalPages int // number of pages
	TotalItems int // number of rows in the whole list
	// Total is TotalPages, and Items TotalItems: their first names, kept
	// for the templates that use them.
	Total int
	Items int
	Prev  string // URL of the previous page, or ""
	Next  string // URL of the next page, or ""
	First string // URL of page 1
	Last  string // URL of the last page
	base  string
	// stable: the list is paginated stably (see stable.go): its pages
	// count from the oldest, and the last, the newest, is at base.
	stable bool
}

// URL returns the URL of page n of the list.
func (p *Pager) URL(n int) string {
	if n < 1 || n > p.Total {
		return ""
	}
	if p.stable {
		return bake.EscapePath(stablePath(p.base, n, p.Total))
	}
	return bake.EscapePath(withPage(p.base, n))
}

func newPager(base string, n, total, items int) *Pager {
	if total < 1 {
		total = 1
	}
	p := &Pager{Number: n, TotalPages: total, TotalItems: items, Total: total, Items: items, base: base}
	p.First, p.Last = p.URL(1), p.URL(total)
	p.Prev, p.Next = p.URL(n-1), p.URL(n+1)
	return p
}

// Period is .Period in archive templates.
type Period struct {
	Kind  string // year, month or day
	Year  int
	Month time.Month
	Day   int
	Time  time.Time // the first instant of the period
}

// page assembles a bake.Page that renders template rt with data.
func (b *buildRun) page(r *Route, path, key string, deps []bake.Dep, data *PageData, queryArgs func(string) (any, bool)) *bake.Page {
	s := b.site
	rt := s.tmpl.routes[r.Template]
	data.Site = SiteInfo{Title: s.cfg.Site.Title, BaseURL: s.cfg.Site.BaseURL}
	data.Page = PageInfo{Path: path, URL: bake.EscapePath(path), Route: r.Name}
	data.Data = b.data
	deps = b.pageDeps(r, rt, deps)
	digest := ""
	spliced := len(data.Rows) > 0 && s.spliceable(r)
	if salt := b.salt(r.Template, rt); salt != "" && len(r.Queries) == 0 && !spliced {
		// Extra route queries run at render time: such a page cannot say
		// up front all it reads. A page an update may splice (splice.go)
		// has none either: the update makes it without reading its rows.
		digest = pageDigest(salt, r.Name, path, key, data, rt)
	}
	html := htmlPath(path) // see controls.go
	p := &bake.Page{
		Path:   path,
		Route:  r.Name,
		Key:    key,
		Digest: digest,
		Deps:   bake.SortDeps(deps),
	}
	render := b.pageRender(r, rt, data, queryArgs, html)
	p.Render = func(ctx context.Context, w io.Writer) error {
		if buf, ok := w.(*bytes.Buffer); ok && spliced {
			// Where the rows are in the bytes, for the next update.
			rec := &rowsRecorder{}
			first := unsafe.SliceData(data.Rows)
			recorders.Store(first, rec)
			defer recorders.Delete(first)
			start := buf.Len()
			defer func() {
				if p.Rows = nil; buf.Len() > start {
					p.Rows = rec.spans(buf.Bytes()[start:], rowKeysOf(r, data.Rows))
				}
			}()
		}
		return render(ctx, w)
	}
	return p
}

// pageDeps returns deps, what a page of route r read to be made, with
// what its template rt reads.
func (b *buildRun) pageDeps(r *Route, rt *routeTemplate, deps []bake.Dep) []bake.Dep {
	s := b.site
	deps = append(deps, rt.deps...)
	if rt.allData {
		for n := range s.cfg.Queries {
			deps = append(deps, bake.QueryDep(n))
		}
	} else {
		for _, n := range rt.queries {
			if _, ok := s.cfg.Queries[n]; ok {
				deps = append(deps, bake.QueryDep(n))
			}
		}
	}
	for _, q := range r.Queries {
		for _, t := range sqlscan.Tables(q) {
			deps = append(deps, bake.TableDep(t))
		}
	}
	return deps
}

// rowKeysOf returns the keys of rows, as their deps name them.
func rowKeysOf(r *Route, rows []Row) []string {
	keys := make([]string, len(rows))
	for i, row := range rows {
		keys[i] = keyString(row[r.Key])
	}
	return keys
}

// pageRender returns the Render of a page of route r, made with data.
func (b *buildRun) pageRender(r *Route, rt *routeTemplate, data *PageData, queryArgs func(string) (any, bool), html bool) func(ctx context.Context, w io.Writer) error {
	s := b.site
	stats := s.stats[r.Name]
	return func(ctx context.Context, w io.Writer) error {
		if len(r.Queries) > 0 {
			data.Data = maps.Clone(b.data)
			for name, q := range r.Queries {
				query, args, err := s.db.bind(q, queryArgs)
				if err != nil {
					return fmt.Errorf("query %s: %w", name, err)
				}
				rows, err := s.db.queryRows(ctx, query, args...)
				stats.Queries.Add(1)
				if len(args) > 0 {
					stats.RowQueries.Add(1)
				}
				if err != nil {
					return fmt.Errorf("query %s: %w", name, err)
				}
				data.Data[name] = rows
			}
		}
		if !html {
			if err := rt.t.Execute(w, data); err != nil {
				return templateError(rt.file, err)
			}
			return nil
		}
		cf := &controlFilter{w: w}
		if err := rt.t.Execute(cf, data); err != nil {
			return templateError(rt.file, err)
		}
		return cf.Close()
	}
}

func noArgs(string) (any, bool) { return nil, false }

// single renders a page or notfound route.
func (b *buildRun) single(r *Route) bool {
	p := b.page(r, r.Path, "", nil, &PageData{}, noArgs)
	if r.Kind == KindNotFound {
		return b.emitUnlisted(p)
	}
	return b.emit(p)
}

// emitUnlisted yields a page that the sitemap leaves out.
func (b *buildRun) emitUnlisted(p *bake.Page) bool {
	sm := b.sitemap
	b.sitemap = nil
	ok := b.emit(p)
	b.sitemap = sm
	return ok
}

// rowDeps returns the row and table deps of rows shown on a page.
// tableDepsOf returns the table deps of the tables query reads, not nil.
func tableDepsOf(query string) []bake.Dep {
	deps := []bake.Dep{}
	for _, t := range sqlscan.Tables(query) {
		deps = append(deps, bake.TableDep(t))
	}
	return deps
}

func rowDeps(r *Route, rows []Row) []bake.Dep {
	keys := make([]string, 0, len(rows))
	for _, row := range rows {
		if v, ok := row[r.Key]; ok {
			keys = append(keys, keyString(v))
		}
	}
	return keyDeps(r, keys)
}
