// Package sqlsite makes a [bake.Site] from a site folder: bake.toml routes,
// each a SQL query and an html/template, over SQLite or PostgreSQL.
//
// Every route runs one query (plus a count for paginated routes), streamed:
// pages are produced as rows arrive and rendered by the caller in parallel,
// so memory does not grow with the number of rows. Each page records the
// rows, tables, templates, static files and site queries it read as deps.
package sqlsite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/asset"
)

// Options configure a Site.
type Options struct {
	// Dir is the site folder; bake.toml paths are relative to it. If empty, ".".
	Dir string
	// Dialect is SQLite or Postgres. If empty, SQLite.
	Dialect string
	// Logger receives debug logs. If nil, logs are discarded.
	Logger *slog.Logger
	// SitemapMax is the most URLs one sitemap file lists; past it, the
	// sitemap is an index of files of that many. If zero, 50000 (the
	// protocol's limit).
	SitemapMax int
	// ManyPages is the number of pages that edited templates and static
	// files re-render above which [Site.Update] asks for a full build,
	// when they are also more than a quarter of the build's pages: as with
	// mass row changes (build.RunOptions.ManyRows), writing a new folder is
	// then faster than updating most files in place. If zero, 2000;
	// negative means never.
	ManyPages int
	// AssetCache is the folder where processed static files are kept
	// between builds, by content hash (see package asset). If empty,
	// .bake/assets in Dir; "-" for a temporary folder, removed by
	// [Site.Close].
	AssetCache string
	// Now is the time :now stands for in the site's queries (see
	// [NowParam]): the time of the build, so that every query of a build
	// reads the same instant, and one bake controls (a preview of a later
	// time, a test's clock). If zero, the time New is called.
	Now time.Time
}

// Site is a site defined by bake.toml. It is safe for concurrent use.
type Site struct {
	cfg      *Config
	dir      string
	assets   *asset.Pipeline
	assetSet atomic.Pointer[asset.Set] // the last pass's
	db       *db
	tmpl     *templates
	funcs    *funcs
	splice   sync.Map    // route name → spliceable
	noSplice atomic.Bool // see MinifiesHTML
	routes   map[string]*Route
	stats    map[string]*RouteStats
	log      *slog.Logger
	// sitemapMax is Options.SitemapMax, defaults applied.
	sitemapMax int
	// manyPages is Options.ManyPages, defaults applied.
	manyPages int

	stateMu sync.Mutex
	state   map[string]string // see State
}

// RouteStats counts the work of one route during the builds of a Site.
type RouteStats struct {
	Queries    atomic.Int64 // SQL queries run
	RowQueries atomic.Int64 // of which extra queries run once per page
	Rows       atomic.Int64 // rows read
	// ListPagesByKey counts the pages of a list an update read by the
	// keys of the rows they showed, instead of skipping the rows of the
	// pages before them.
	ListPagesByKey atomic.Int64
	// StablePages counts the pages of a stable list an update made from
	// the rows they showed and the rows that changed; StableWhole the
	// updates that made such a list whole again (stableUpdate).
	StablePages atomic.Int64
	StableWhole atomic.Int64
	// ListPagesSpliced counts the pages of a numbered list an update made
	// from the bytes of the last build (spliceList); ListSpliceDeclined
	// the updates of such a list that could not be spliced, and rendered
	// the pages instead.
	ListPagesSpliced   atomic.Int64
	ListSpliceDeclined atomic.Int64
	// SitemapFallbacks counts the updates of a sitemap that read its URLs
	// from the index, the last build's sitemap files not being readable
	// back (missing, damaged, another base URL).
	SitemapFallbacks atomic.Int64
}

// New checks the site against its database and templates and returns it.
// Every problem found (a template that does not parse, a query that fails,
// a path naming a column the query does not return) is reported at once,
// as [Problems].
func New(ctx context.Context, cfg *Config, sqlDB *sql.DB, opts Options) (*Site, error) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.Dialect == "" {
		opts.Dialect = SQLite
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SitemapMax <= 0 {
		opts.SitemapMax = 50000
	}
	if opts.ManyPages == 0 {
		opts.ManyPages = 2000
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	cfg = cfg.at(opts.Now, opts.Dialect)
	s := &Site{
		cfg:    cfg,
		dir:    opts.Dir,
		db:     &db{DB: sqlDB, dialect: opts.Dialect},
		routes: map[string]*Route{},
		stats:  map[string]*RouteStats{},
		log:    opts.Logger,

		sitemapMax: opts.SitemapMax,
		manyPages:  opts.ManyPages,
	}
	var files []string
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		s.routes[r.Name] = r
		s.stats[r.Name] = &RouteStats{}
		if r.Template != "" {
			files = append(files, r.Template)
		}
	}
	s.stats[staticRoute] = &RouteStats{}
	s.funcs = newFuncs(s)
	// Template and query problems are reported together.
	assets, assetErr := newPipeline(cfg, opts.Dir, assetCacheDir(opts.Dir, opts), opts)
	s.assets = assets
	tmpl, tmplErr := loadTemplates(filepath.Join(opts.Dir, cfg.Site.Templates), s.funcs.funcMap(), files)
	if tmplErr != nil {
		tmplErr = prefixFiles(tmplErr, filepath.Join(opts.Dir, cfg.Site.Templates))
	}
	s.tmpl = tmpl
	queryErr := s.checkQueries(ctx)
	if tmplErr == nil && queryErr == nil && assetErr == nil {
		return s, nil
	}
	if assets != nil {
		assets.Close()
	}
	var probs Problems
	for _, err := range []error{assetErr, tmplErr, queryErr} {
		var ps Problems
		switch {
		case err == nil:
		case errors.As(err, &ps):
			probs = append(probs, ps...)
		default:
			probs = append(probs, err)
		}
	}
	return nil, probs
}

// prefixFiles makes the template file names in problems relative to the site folder.
func prefixFiles(err error, dir string) error {
	var probs Problems
	if !errors.As(err, &probs) {
		return err
	}
	for _, p := range probs {
		var be *bake.Error
		if errors.As(p, &be) && be.File != "" && !filepath.IsAbs(be.File) && !strings.HasPrefix(be.File, dir) {
			be.File = filepath.Join(dir, be.File)
		}
	}
	return probs
}

// Config returns the site's definition.
func (s *Site) Config() *Config { return s.cfg }

// Stats returns the work counters of each route, by route name.
func (s *Site) Stats() map[string]*RouteStats { return s.stats }

func (s *Site) route(name string) *Route { return s.routes[name] }

// checkQueries runs every query with LIMIT 0 to learn its columns, and
// checks that paths, keys and parameters name columns that exist.
func (s *Site) checkQueries(ctx context.Context) error {
	var probs Problems
	file := filepath.Join(s.dir, ConfigFile)
	dc := &dataColumns{site: map[string][]string{}, reported: map[string]bool{}}
	for name, q := range s.cfg.Queries {
		cols, err := s.db.columns(ctx, q)
		if err != nil {
			probs = append(probs, &bake.Error{File: file, Line: s.cfg.lines.key(name), Err: fmt.Errorf("query %q: %w", name, err)})
			continue
		}
		dc.site[name] = cols
	}
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		// badAt reports a problem at the line of key in the route (its
		// header when the key is not found).
		badAt := func(key, format string, args ...any) {
			probs = append(probs, &bake.Error{File: file, Line: s.cfg.lines.route(i, key), Route: r.Name, Err: fmt.Errorf(format, args...)})
		}
		bad := func(format string, args ...any) { badAt("", format, args...) }
		var cols []string
		if r.Query != "" {
			c, err := s.db.columns(ctx, r.Query)
			if err != nil {
				badAt("query", "query: %v", err)
				continue
			}
			cols = c
			r.keyCol = slices.Contains(cols, r.Key)
			r.tableDeps = tableDepsOf(r.Query)
			if r.Table == "" {
				bad("cannot tell which table the query reads; set table = \"NAME\"")
			}
		}
		// has reports col, named by the route's key (on whose line) as
		// what, when the query does not return it.
		has := func(key, what, col string) {
			if col != "" && r.Query != "" && !slices.Contains(cols, col) {
				badAt(key, "%s names column %q, which the query does not return (it returns %s)", what, col, strings.Join(cols, ", "))
			}
		}
		switch r.Kind {
		case KindDetail:
			for _, v := range r.pattern.vars() {
				has("path", "path "+r.Path, v)
			}
			has("key", "key", r.Key)
			has("lastmod", "lastmod", r.LastMod)
		case KindList:
			has("group_by", "group_by", r.GroupBy)
			if r.stable() {
				has("key", "key (a stable list's pages are read by key)", r.Key)
				for _, t := range r.stableTerms() {
					has("order_by", "order_by of a stable list", t.col)
				}
			}
		case KindArchive:
			has("date", "date", r.Date)
		}
		if (r.Kind == KindList || r.Kind == KindArchive) && r.OrderBy != "" && r.Query != "" {
			// order_by is SQL after the query's columns: run it as the
			// build will, on no row, so that a column it names that does
			// not exist is found now, with its line.
			if _, err := s.db.columns(ctx, "SELECT * FROM ("+clean(r.Query)+") AS q ORDER BY "+r.OrderBy); err != nil {
				badAt("order_by", "order_by %q: %v (the query returns %s)", r.OrderBy, err, strings.Join(cols, ", "))
			}
		}
		switch r.Kind {
		case KindFeed:
			for _, v := range r.pattern.vars() {
				has("link", "link "+r.Link, v)
			}
			if lp, err := parsePattern(r.Link); err != nil {
				badAt("link", "link %q: %v", r.Link, err)
			} else {
				for _, v := range lp.vars() {
					has("link", "link "+r.Link, v)
				}
			}
			has("date", "date", r.Date)
			has("title", "columns.title", r.Columns.Title)
			has("summary", "columns.summary", r.Columns.Summary)
			has("content", "columns.content", r.Columns.Content)
			has("author", "columns.author", r.Columns.Author)
		case KindRedirect:
			has("query", "a redirect query", "source")
			has("query", "a redirect query", "target")
		}
		for qn, q := range r.Queries {
			ps := params(q)
			for _, p := range ps {
				switch {
				case r.Kind == KindDetail:
					has(qn, "query "+qn+" parameter :"+p, p)
				case r.Kind == KindList && r.GroupBy != "":
					if p != r.GroupBy {
						badAt(qn, "query %s: parameter :%s: a grouped list's queries can only use :%s", qn, p, r.GroupBy)
					}
				default:
					badAt(qn, "query %s: parameter :%s: a %s route has no row to take it from", qn, p, r.Kind)
				}
			}
			if len(ps) == 0 {
				if _, err := s.db.columns(ctx, q); err != nil {
					badAt(qn, "query %s: %v", qn, err)
				}
			}
		}
		if r.Template != "" && s.tmpl != nil && r.Query != "" {
			if rt := s.tmpl.routes[r.Template]; rt != nil {
				probs = append(probs, s.checkColumns(r, rt, cols)...)
			}
		}
		if r.Template != "" && s.tmpl != nil {
			if rt := s.tmpl.routes[r.Template]; rt != nil {
				probs = append(probs, s.checkDataColumns(ctx, r, rt, dc)...)
				probs = append(probs, s.checkURLNames(r, rt, dc.reported)...)
				for _, qn := range rt.queries {
					if _, ok := s.cfg.Queries[qn]; !ok {
						if _, ok := r.Queries[qn]; !ok {
							probs = append(probs, &bake.Error{File: filepath.Join(s.dir, s.cfg.Site.Templates, r.Template), Route: r.Name,
								Err: fmt.Errorf(".Data.%s: no query named %q in [queries] or this route's [route.queries]", qn, qn)})
						}
					}
				}
			}
		}
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}

// checkColumns reports each column of the route's rows that its template
// reads by name (.Row.NAME on a detail page, .NAME on an element of
// .Rows in a list or archive) and its query does not return: a typo would
// render nothing.
func (s *Site) checkColumns(r *Route, rt *routeTemplate, cols []string) Problems {
	var probs Problems
	seen := map[string]bool{}
	for _, ref := range rt.cols {
		var what string
		switch {
		case ref.Data != "":
			continue // checkDataColumns
		case r.Kind == KindDetail && !ref.Rows:
			what = ".Row." + ref.Col
		case (r.Kind == KindList || r.Kind == KindArchive) && ref.Rows:
			what = "." + ref.Col + " of a row of .Rows"
		default:
			continue
		}
		if slices.Contains(cols, ref.Col) || seen[ref.Loc+what] {
			continue
		}
		seen[ref.Loc+what] = true
		file, line := ref.Loc, 0
		if f, rest, ok := strings.Cut(ref.Loc, ":"); ok {
			file = f
			l, _, _ := strings.Cut(rest, ":")
			line, _ = strconv.Atoi(l)
		}
		probs = append(probs, &bake.Error{File: filepath.Join(s.dir, s.cfg.Site.Templates, file), Line: line, Route: r.Name,
			Err: fmt.Errorf("%s: the route's query does not return column %q (it returns %s)", what, ref.Col, strings.Join(cols, ", "))})
	}
	return probs
}

const staticRoute = "static"

// Pages streams every page of the site: static files, then each route in
// the order of bake.toml, then sitemaps (which list the pages before them).
func (s *Site) Pages(ctx context.Context) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		b := &buildRun{site: s, ctx: ctx, yield: yield}
		b.run()
	}
}

// buildRun is the state of one pass over the site.
type buildRun struct {
	site    *Site
	ctx     context.Context
	yield   func(*bake.Page, error) bool
	stopped bool
	data    map[string][]Row // site-wide query results
	sitemap *sitemapCollector
	target  string            // when set, only pages at this path are wanted (live preview)
	state   map[string]string // the site's state in this pass; nil for no page digests
	salts   map[string]string // route template → routeSalt

	span *listSpan // limits the next non-grouped list an update reruns

	prev   bake.Index              // the last build (an update's), for what it keeps; see stableState
	stable map[string]*stableRoute // stable lists of this pass, by route

	shard *Shard // when set, only this shard's pages are wanted (see ShardPages)
	quiet bool   // pages are collected for the sitemap, not yielded (the sitemap shard)
}

// listSpan limits the pages of a non-grouped list that an update makes
// again (see updateRun.listFrom), when the list still has pages pages.
// From, when above 1, is the page it starts at: its query skips the rows
// before with OFFSET. Through, when above 0, is the page after which it
// stops, once it has seen every row of watch. list sets from to the page
// it started at, and stopped to the page it stopped after (0 when it made
// every page to the end).
type listSpan struct {
	from, through, pages int
	watch                map[string]bool
	stopped              int
}

// covers reports whether page n of the list was made again.
func (sp *listSpan) covers(n int) bool {
	return n >= sp.from && (sp.stopped == 0 || n <= sp.stopped)
}

// salt returns the routeSalt of template rt, "" when this pass makes no
// page digests.
func (b *buildRun) salt(name string, rt *routeTemplate) string {
	if b.state == nil {
		return ""
	}
	if v, ok := b.salts[name]; ok {
		return v
	}
	if b.salts == nil {
		b.salts = map[string]string{}
	}
	v := routeSalt(b.state, rt)
	b.salts[name] = v
	return v
}

// narrow reports whether this pass wants one page only, so routes and rows
// that cannot make it are skipped (a sitemap needs every page).
func (b *buildRun) narrow() bool { return b.target != "" && b.sitemap == nil }

// pagePath returns the path of the page at path: /x/index.html is the
// file of /x/, so both are /x/, and two pages written to that file are
// two pages at one path, an error.
func pagePath(path string) string {
	if strings.HasSuffix(path, "/index.html") {
		return strings.TrimSuffix(path, "index.html")
	}
	return path
}

func (b *buildRun) emit(p *bake.Page) bool {
	if b.stopped {
		return false
	}
	p.Path = pagePath(p.Path)
	if b.narrow() && p.Path != b.target {
		return true
	}
	if b.sitemap != nil && p.HTML() && p.Redirect == "" {
		b.sitemap.add(p)
	}
	if b.quiet {
		return true
	}
	if !b.yield(p, nil) {
		b.stopped = true
	}
	return !b.stopped
}

func (b *buildRun) fail(r *Route, path, key string, err error) bool {
	if b.stopped {
		return false
	}
	if b.quiet {
		return true // the shard of the route reports it
	}
	e := &bake.Error{Path: path, Key: key, Err: err}
	if r != nil {
		e.Route = r.Name
	}
	var te *bake.Error
	if errors.As(err, &te) && te != e {
		te.Route, te.Path, te.Key = e.Route, path, key
		e = te
	}
	if !b.yield(nil, e) {
		b.stopped = true
	}
	return !b.stopped
}

func (b *buildRun) run() {
	s := b.site
	for _, r := range s.cfg.Routes {
		if r.Kind == KindSitemap && (b.target == "" || r.canMake(b.target)) && (b.shard == nil || b.shard.Sitemap) {
			sm, err := newSitemapCollector(r.Exclude)
			if err != nil {
				b.fail(&r, r.Path, "", err)
				return
			}
			b.sitemap = sm
			break
		}
	}
	b.data = map[string][]Row{}
	names := make([]string, 0, len(s.cfg.Queries))
	for n := range s.cfg.Queries {
		names = append(names, n)
	}
	sort.Strings(names)
	if _, probs := s.runAssets(b.ctx); len(probs) > 0 {
		for _, p := range probs {
			if !b.fail(nil, "", "", p) {
				return
			}
		}
	}
	var state map[string]string
	if b.target == "" {
		st, err := s.fileState(nil)
		if err != nil {
			b.fail(nil, "", "", err)
			return
		}
		state = st
	}
	for _, n := range names {
		rows, err := s.db.queryRows(b.ctx, s.cfg.Queries[n])
		if err != nil {
			b.fail(nil, "", "", fmt.Errorf("query %q: %w", n, err))
			return
		}
		b.data[n] = rows
		if state != nil {
			state["query:"+n] = rowsHash(rows)
		}
	}
	if state != nil {
		b.state = state
		defer func() {
			if !b.stopped {
				b.keepStableState(state)
				s.setState(state)
			}
		}()
	}
	s.funcs.resetCache(&PageData{Site: SiteInfo{Title: s.cfg.Site.Title, BaseURL: s.cfg.Site.BaseURL}, Data: b.data}, bake.FragmentCacheFrom(b.ctx), b.state)
	if (b.target == "" || b.sitemap != nil || b.site.staticCandidate(b.target)) && b.shardStatic() && !b.staticFiles() {
		return
	}
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		if r.Kind == KindSitemap {
			continue
		}
		if b.narrow() && !r.canMake(b.target) {
			continue
		}
		if b.ctx.Err() != nil {
			b.fail(r, "", "", b.ctx.Err())
			return
		}
		r, err := b.shardRoute(r)
		if err != nil {
			b.fail(&s.cfg.Routes[i], "", "", err)
			return
		}
		if r != nil && !b.route(r) {
			return
		}
	}
	b.quiet = false
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		if r.Kind == KindSitemap && b.sitemap != nil && !b.sitemapPages(r) {
			return
		}
	}
}

func (b *buildRun) route(r *Route) bool {
	switch r.Kind {
	case KindPage, KindNotFound:
		return b.single(r)
	case KindList:
		return b.list(r)
	case KindDetail:
		return b.detail(r)
	case KindArchive:
		return b.archive(r)
	case KindFeed:
		return b.feed(r)
	case KindRedirect:
		return b.redirects(r)
	}
	return true
}

// skipped reports whether the walk of folder dir leaves out p: dot-files
// and dot-folders (no page may start with a dot, see [bake.FileName]),
// but for a .well-known folder at the top (/.well-known/security.txt).
func skipped(dir, p string, d fs.DirEntry) bool {
	name := d.Name()
	if !strings.HasPrefix(name, ".") || p == dir {
		return false
	}
	return !(d.IsDir() && name == bake.WellKnownDir && filepath.Dir(p) == filepath.Clean(dir))
}
