package sqlsite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/sqlscan"
)

// stateVersion is part of the config value: a bake whose rendering differs
// from the one that made a build changes it, so its first build is full.
const stateVersion = "sqlsite/5" // 5: sitemap parts cut by their URLs (sitemapCuts)

// Update implements [bake.Updater]: it is the planner, which turns changes
// into the pages they touch and re-renders only those. What a change
// re-renders:
//
//   - bake.toml: nothing incrementally. A changed bake.toml (or a bake that
//     renders differently, stateVersion), or a change naming a config dep,
//     ends the stream with an error wrapping [bake.ErrFullBuild], and the
//     caller builds everything.
//   - Templates and static files are found by Update itself, by their
//     hashes against the last build's (size and time first; for a static
//     file, the hash of what the asset pipeline made of it), besides the
//     changes given. A template or static file edited or removed re-renders
//     every page of each route whose template reaches it (through template,
//     block, cache, static, inline or integrity); a static file's files are
//     written again, and those it no longer makes (its old fingerprinted
//     name) removed. When those routes made more than [Options.ManyPages] pages
//     (2000) and more than a quarter of the build's pages, the stream ends
//     with an error wrapping [bake.ErrFullBuild] that says so, before any
//     page: a full build writes them faster than an update in place.
//   - Site queries ([queries]) are all run again and their results
//     compared with the last build's: one that changed re-renders every
//     page of the routes whose templates read it (.Data.NAME, or .Data as
//     a whole), and every feed and redirect route.
//   - A row or table change (row:TABLE/KEY, table:TABLE) touches the
//     routes whose query, or one of whose per-page [route.queries], reads
//     TABLE (internal/sqlscan), unless it is an update whose changed
//     columns that query does not name. A per-page query it touches
//     re-renders the whole route. Then, by kind:
//   - detail: the pages of the changed rows, queried by key; a row no
//     longer selected has its page removed, a row whose path changed has
//     its old page removed. A change without a key, or to a route whose
//     query reads more than one table, re-renders the whole route.
//   - list: when the update changes only columns that neither filter,
//     order nor group the rows, just the pages that showed the row (found
//     by its row dep), each read by the keys of its rows. A grouped list
//     re-renders the groups the row was in and is in. A list ordered
//     completely (its order_by ends with the key) re-renders only the
//     pages the inserted, deleted or moved rows can have changed (see
//     listFrom). Anything else re-renders the whole route: a change without
//     a key or to another table, a list whose rows read other rows (a join,
//     an aggregate, a window, a LIMIT) or whose query does not return its
//     key, an insert into a list not ordered completely.
//   - feed: nothing when the update changes no column that filters or
//     orders its rows and the feed did not show the row (its query must be
//     row-local but for its limit, and ordered completely if it has one);
//     otherwise the feed.
//   - archive, and redirect with a query: the whole route. Page and
//     notfound routes have no query: only their [route.queries], templates
//     and site queries touch them; a redirect's own redirects table is
//     bake.toml.
//   - Pagination: a route re-rendered whole, or from a page on, yields its
//     pages again; the pages of the last build that it no longer makes (a
//     list that lost a page, a group that lost its rows) are removed.
//   - The sitemap is rewritten when a page was added or removed, or its
//     lastmod changed, from the last build's sitemap files with those
//     changes merged in (or from the index, when the files do not read
//     back: RouteStats.SitemapFallbacks).
//
// "Re-renders the whole route" still costs only what changed: a page whose
// input digest (its rows, pager, templates, site queries and bake.toml) is
// the last build's is not rendered, and a page whose bytes did not change
// is not written (package build). Whether to update at all, rather than
// build in full, is the caller's choice (build.Run).
func (s *Site) Update(ctx context.Context, prev bake.Index, changes []bake.Change) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		u := &updateRun{site: s, prev: prev, out: yield, yielded: map[string]bool{}, sitemapDelta: map[string]sitemapItem{}}
		u.b = &buildRun{site: s, ctx: ctx, yield: u.forward, prev: prev}
		u.run(changes)
	}
}

// State implements [bake.Updater]: the hashes of bake.toml, the templates,
// the static files and the results of the site queries, as of the last pass.
func (s *Site) State() map[string]string {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return maps.Clone(s.state)
}

func (s *Site) setState(v map[string]string) {
	s.stateMu.Lock()
	s.state = v
	s.stateMu.Unlock()
}

// sitemapItem is what the sitemap knows of one page.
type sitemapItem struct {
	in      bool // the page is listed
	lastmod int64
}

type updateRun struct {
	site *Site
	prev bake.Index
	b    *buildRun
	out  func(*bake.Page, error) bool

	reason       string          // why the pages now being yielded are re-rendered
	yielded      map[string]bool // paths yielded (rendered or removed)
	routePaths   map[string]bool // paths yielded by the route being rerun in full
	sitemapDelta map[string]sitemapItem
	stopped      bool
	countMu      sync.Mutex
	counts       map[string]int
}

// forward is the yield of the inner buildRun: it notes what the sitemap
// needs and why the page is rendered.
func (u *updateRun) forward(p *bake.Page, err error) bool {
	if u.stopped {
		return false
	}
	if p != nil {
		if p.Reason == "" {
			p.Reason = u.reason
		}
		u.yielded[p.Path] = true
		if u.routePaths != nil {
			u.routePaths[p.Path] = true
		}
		if r := u.site.route(p.Route); r == nil || r.Kind != KindSitemap {
			it := sitemapItem{}
			if !p.Remove {
				it = u.site.sitemapItem(p.Route, p.Type(), p.Redirect, p.Path, p.LastMod.Unix(), !p.LastMod.IsZero())
			}
			u.sitemapDelta[p.Path] = it
		}
	}
	if !u.out(p, err) {
		u.stopped = true
	}
	return !u.stopped
}

func (u *updateRun) fail(err error) {
	u.forward(nil, err)
}

func (u *updateRun) remove(route, path, reason string) bool {
	return u.forward(&bake.Page{Path: pagePath(path), Route: route, Remove: true, Reason: reason}, nil)
}

// sitemapItem says whether a page of route is listed in the sitemap, as
// emit and emitUnlisted decide in a full pass.
func (s *Site) sitemapItem(route, typ, redirect, path string, lastmod int64, hasLastMod bool) sitemapItem {
	if !bake.IsHTML(typ) || redirect != "" {
		return sitemapItem{}
	}
	if r := s.route(route); r != nil && (r.Kind == KindNotFound || r.Kind == KindSitemap) {
		return sitemapItem{}
	}
	for _, sr := range s.cfg.Routes {
		if sr.Kind == KindSitemap {
			if excluded(sr.Exclude, path) {
				return sitemapItem{}
			}
			break
		}
	}
	if !hasLastMod {
		lastmod = 0
	}
	return sitemapItem{in: true, lastmod: lastmod}
}

// routeWork is what a pass must redo of one route.
type routeWork struct {
	full  string            // reason to rerun the whole route, or ""
	keys  map[string]string // detail: row key → reason
	pages map[string]string // list: page path → reason (rows unchanged in number and order)
	// pageKeys: list: page path → the keys of the rows it showed at the
	// last build (its row deps), for listPage
	pageKeys map[string][]string
	groups   map[string]string // grouped list: base path of a group to rerun → reason
	moved    map[string]string // list: row key → reason, rows that may have joined, left or moved
	dirty    map[string]string // list: row key → reason, rows whose content changed (pages)
	// grouped list: row key → reason, rows that may have joined, left or
	// moved within their groups (those of groups)
	groupKeys map[string]string
}

func (u *updateRun) run(changes []bake.Change) {
	s := u.site
	ctx := u.b.ctx
	seen := map[string]string{} // values read from prev, read once
	prevValue := func(name string) string {
		if v, ok := seen[name]; ok {
			return v
		}
		v, err := u.prev.Value(ctx, name)
		if err != nil {
			u.fail(err)
			u.stopped = true
		}
		seen[name] = v
		return v
	}
	if _, probs := s.runAssets(ctx); len(probs) > 0 {
		for _, p := range probs {
			u.fail(p)
		}
		return
	}
	state, err := s.fileState(prevValue)
	if err != nil {
		u.fail(err)
		return
	}
	if u.stopped {
		return
	}
	if was := prevValue("config"); was != state["config"] {
		u.fail(fmt.Errorf("%s changed since the last build: %w", ConfigFile, bake.ErrFullBuild))
		return
	}
	// Templates and static files edited since the last build.
	for k, v := range state {
		if (strings.HasPrefix(k, "tmpl:") || strings.HasPrefix(k, "asset:")) && fileHash(prevValue(k)) != fileHash(v) {
			changes = append(changes, bake.Change{Dep: bake.Dep(k)})
		}
	}
	if u.stopped {
		return
	}
	changes = bake.SortChanges(changes)
	for _, c := range changes {
		if c.Dep.Kind() == bake.KindConfig {
			u.fail(fmt.Errorf("%s changed: %w", c.Dep.Name(), bake.ErrFullBuild))
			return
		}
	}
	// Removed templates and static files are changes too.
	for e, err := range u.prevFiles(ctx) {
		if err != nil {
			u.fail(err)
			return
		}
		if _, ok := state[e]; !ok {
			changes = append(changes, bake.Change{Dep: bake.Dep(e)})
		}
	}
	changes = bake.SortChanges(changes)
	if err := u.manyPages(ctx, changes); err != nil {
		u.fail(err)
		return
	}

	// Site queries: rerun them all (every page may show them), and compare
	// the results with the last build's.
	u.b.data = map[string][]Row{}
	changedQueries := map[string]bool{}
	for _, n := range slices.Sorted(maps.Keys(s.cfg.Queries)) {
		rows, err := s.db.queryRows(ctx, s.cfg.Queries[n])
		if err != nil {
			u.fail(fmt.Errorf("query %q: %w", n, err))
			return
		}
		u.b.data[n] = rows
		h := rowsHash(rows)
		state["query:"+n] = h
		if prevValue("query:"+n) != h {
			changedQueries[n] = true
		}
	}
	if u.stopped {
		return
	}
	// What the last build kept of its stable lists, kept unless redone.
	for i := range s.cfg.Routes {
		if r := &s.cfg.Routes[i]; r.stable() {
			state[stableValueName(r.Name)] = prevValue(stableValueName(r.Name))
		}
	}
	u.b.state = state
	s.funcs.resetCache(&PageData{Site: SiteInfo{Title: s.cfg.Site.Title, BaseURL: s.cfg.Site.BaseURL}, Data: u.b.data}, bake.FragmentCacheFrom(ctx), u.b.state)

	// Static files first, as in a full pass.
	if !u.staticFiles(changes) {
		return
	}
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		if r.Kind == KindSitemap {
			continue
		}
		w, err := u.work(r, changes, changedQueries)
		if err != nil {
			u.fail(&bake.Error{Route: r.Name, Err: err})
			return
		}
		if !u.redo(r, w) {
			return
		}
	}
	if !u.sitemaps() {
		return
	}
	u.b.keepStableState(state)
	s.setState(state)
}

// manyPages returns an error wrapping [bake.ErrFullBuild] when the
// template and static file changes re-render so many pages (more than
// Options.ManyPages, and more than a quarter of the build's pages) that a
// full build is faster, as build.Run decides for mass row changes.
func (u *updateRun) manyPages(ctx context.Context, changes []bake.Change) error {
	s := u.site
	if s.manyPages < 0 {
		return nil
	}
	var (
		touched int
		deps    []string
	)
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		rt := s.tmpl.routes[r.Template]
		if r.Kind == KindSitemap || r.Template == "" || rt == nil {
			continue
		}
		hit := false
		for _, c := range changes {
			if k := c.Dep.Kind(); (k == bake.KindTmpl || k == bake.KindAsset) && slices.Contains(rt.deps, c.Dep) {
				hit = true
				if !slices.Contains(deps, string(c.Dep)) {
					deps = append(deps, string(c.Dep))
				}
			}
		}
		if !hit {
			continue
		}
		paths, err := u.prev.Paths(ctx, r.Name, "")
		if err != nil {
			return err // it names the route
		}
		touched += len(paths)
	}
	if touched <= s.manyPages {
		return nil
	}
	total, err := countPages(ctx, u.prev)
	if err != nil {
		return err
	}
	if touched*4 <= total {
		return nil
	}
	slices.Sort(deps)
	return fmt.Errorf("%s changed, re-rendering %d of %d pages: %w", strings.Join(deps, ", "), touched, total, bake.ErrFullBuild)
}

// countPages returns the number of pages of the build prev indexes.
func countPages(ctx context.Context, prev bake.Index) (int, error) {
	if c, ok := prev.(interface {
		Count(context.Context) (int, error)
	}); ok {
		return c.Count(ctx) // its error says what it counted
	}
	n := 0
	for _, err := range prev.Outline(ctx) {
		if err != nil {
			return 0, fmt.Errorf("count pages: %w", err)
		}
		n++
	}
	return n, nil
}

// fileHash returns the hash part of a file value "size mtime sha".
func fileHash(v string) string { return v[strings.LastIndexByte(v, ' ')+1:] }

// prevFiles lists the template and static file values of the last build.
func (u *updateRun) prevFiles(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		v, err := u.prev.Value(ctx, "files")
		if err != nil {
			yield("", err)
			return
		}
		for f := range strings.SplitSeq(v, "\n") {
			if f != "" && !yield(f, nil) {
				return
			}
		}
	}
}

// fileState hashes bake.toml, the templates and the static files. A file
// whose size and modification time match the last build's value is not read
// again.
func (s *Site) fileState(prevValue func(string) string) (map[string]string, error) {
	st := map[string]string{}
	cfg, err := os.ReadFile(filepath.Join(s.dir, ConfigFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", ConfigFile, err)
	}
	// The static URL can come from the environment (BAKE_STATIC_URL): a
	// change of it changes every page that links a static file.
	// The sitemap's limit too: an update reads its parts as cut by it.
	sum := sha256.Sum256(append([]byte(stateVersion+"\nstatic_url="+s.cfg.Site.StaticURL+"\nsitemap_max="+strconv.Itoa(s.sitemapMax)+"\n"), cfg...))
	st["config"] = hex.EncodeToString(sum[:])
	var names []string
	walk := func(dir, kind string) error {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if skipped(dir, p, d) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			name := kind + ":" + filepath.ToSlash(rel)
			stamp := strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + " "
			if prevValue != nil {
				if was := prevValue(name); strings.HasPrefix(was, stamp) {
					st[name] = was
					names = append(names, name)
					return nil
				}
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
			st[name] = stamp + hex.EncodeToString(h.Sum(nil))
			names = append(names, name)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("read %s files: %w", kind, err)
		}
		return nil
	}
	if err := walk(s.tmpl.dir, bake.KindTmpl); err != nil {
		return nil, err
	}
	assetState(st, s.Assets(), &names)
	slices.Sort(names)
	st["files"] = strings.Join(names, "\n")
	return st, nil
}

func rowsHash(rows []Row) string {
	h := sha256.New()
	fmt.Fprint(h, rows)
	return hex.EncodeToString(h.Sum(nil))
}

// work decides what of route r the changes touch.
func (u *updateRun) work(r *Route, changes []bake.Change, changedQueries map[string]bool) (*routeWork, error) {
	s := u.site
	w := &routeWork{keys: map[string]string{}, pages: map[string]string{}, pageKeys: map[string][]string{}, groups: map[string]string{}, moved: map[string]string{}, dirty: map[string]string{}, groupKeys: map[string]string{}}
	var tmplDeps []bake.Dep
	if r.Template != "" {
		if rt := s.tmpl.routes[r.Template]; rt != nil {
			tmplDeps = rt.deps
			for n := range s.cfg.Queries {
				if changedQueries[n] && (rt.allData || slices.Contains(rt.queries, n)) {
					w.full = "query:" + n + " changed"
					return w, nil
				}
			}
		}
	}
	if r.Kind == KindFeed || r.Kind == KindRedirect {
		for n := range s.cfg.Queries {
			if changedQueries[n] {
				w.full = "query:" + n + " changed"
				return w, nil
			}
		}
	}
	an := analyze(r)
	for _, c := range changes {
		switch c.Dep.Kind() {
		case bake.KindTmpl, bake.KindAsset:
			if slices.Contains(tmplDeps, c.Dep) || c.Dep.Kind() == bake.KindAsset && slices.Contains(tmplDeps, bake.AssetDep("*")) {
				w.full = string(c.Dep) + " changed"
				return w, nil
			}
			continue
		case bake.KindRow, bake.KindTable:
		default:
			continue
		}
		table := c.Dep.Name()
		why := c.String()
		// Extra route queries reading the table.
		for _, q := range r.Queries {
			if slices.Contains(sqlscan.Tables(q), table) && touches(c, words(q)) {
				w.full = why
				return w, nil
			}
		}
		if r.Query == "" || !slices.Contains(an.tables, table) || !touches(c, an.all) {
			continue
		}
		key := c.Dep.Key()
		switch r.Kind {
		case KindDetail:
			if table != r.Table || len(an.tables) > 1 || key == "" {
				w.full = why
				return w, nil
			}
			w.keys[key] = why
		case KindList:
			if r.stable() && key != "" && table == r.Table && an.rowLocal && r.keyCol &&
				(c.Op != bake.OpUpdate || touches(c, an.layout)) {
				w.moved[key] = why // see stableUpdate
				continue
			}
			if key != "" && r.GroupBy != "" && table == r.Table && an.rowLocal && r.keyCol &&
				(c.Op != bake.OpUpdate || touches(c, an.layout)) {
				// The row may join, leave or move within its groups: rerun
				// those groups, the one it was in and the one it is in.
				bases, err := u.groupBases(r, key)
				if err != nil {
					return nil, err
				}
				if bases == nil {
					w.full = why
					return w, nil
				}
				for _, base := range bases {
					w.groups[base] = why
				}
				w.groupKeys[key] = why
				continue
			}
			if key == "" || table != r.Table || !an.rowLocal || !r.keyCol {
				// The row may show on pages besides its own (another
				// table's row, or rows that read other rows: a join, a
				// window function), or its pages are not known (without
				// the key, a list page records no row deps).
				w.full = why
				return w, nil
			}
			if c.Op != bake.OpUpdate || touches(c, an.layout) {
				if r.GroupBy == "" && totalOrder(r.orderBy(), r.Key) {
					w.moved[key] = why // see listFrom
					continue
				}
				w.full = why
				return w, nil
			}
			w.dirty[key] = why
			entries, err := u.prev.ByDep(u.b.ctx, bake.RowDep(r.Table, key))
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if e.Route == r.Name {
					w.pages[e.Path] = why
					w.pageKeys[e.Path] = rowKeys(e.Deps, r.Table)
				}
			}
		case KindFeed:
			if u.feedKeeps(r, an, c) {
				continue
			}
			w.full = why
			return w, nil
		default:
			w.full = why
			return w, nil
		}
	}
	return w, nil
}

// feedKeeps reports whether feed r is unchanged by change c, which reads its
// table: c updates columns that decide neither which rows the feed shows
// nor their order, and the feed did not show the row. Its query must be
// row-local but for its limit, and a limited query must order its rows
// completely (ending with the key), or which of two tied rows it shows
// could change from one query to the next (on PostgreSQL).
func (u *updateRun) feedKeeps(r *Route, an queryAnalysis, c bake.Change) bool {
	key := c.Dep.Key()
	if key == "" || c.Dep.Name() != r.Table || c.Op != bake.OpUpdate || touches(c, an.layout) ||
		!r.keyCol || !an.limited || !an.rowLocal && !totalOrder(an.order, r.Key) {
		return false
	}
	entries, err := u.prev.ByDep(u.b.ctx, bake.RowDep(r.Table, key))
	if err != nil {
		return false // rerun: a rerun is never wrong
	}
	for _, e := range entries {
		if e.Route == r.Name {
			return false
		}
	}
	return true
}

// redo re-renders what w says of route r.
func (u *updateRun) redo(r *Route, w *routeWork) bool {
	b := u.b
	if w.full != "" {
		u.reason = w.full
		return u.rerun(r, func() bool { return b.route(r) }, func(string) string { return w.full + ": page no longer made" })
	}
	if r.stable() && (len(w.moved) > 0 || len(w.pages) > 0) {
		return u.stableUpdate(r, w)
	}
	if len(w.moved) > 0 {
		return u.listFrom(r, w)
	}
	if len(w.keys) > 0 && !u.detailKeys(r, w.keys) {
		return false
	}
	if len(w.groups) > 0 && !u.groupLists(r, w, w.groups) {
		return false
	}
	for _, p := range slices.Sorted(maps.Keys(w.pages)) {
		if base, _ := listBase(p); w.groups[base] != "" {
			continue // made by groupLists
		}
		u.reason = w.pages[p]
		if !u.listPage(r, p, w.pageKeys[p]) {
			return false
		}
	}
	return true
}

// rowKeys returns the keys of the rows of table among deps.
func rowKeys(deps []bake.Dep, table string) []string {
	var keys []string
	for _, d := range deps {
		if d.Kind() == bake.KindRow && d.Name() == table {
			keys = append(keys, d.Key())
		}
	}
	return keys
}

// detailKeys re-renders the detail pages of the rows with these keys, and
// removes the pages of rows that are gone or moved to another path.
func (u *updateRun) detailKeys(r *Route, keys map[string]string) bool {
	b := u.b
	all := slices.Sorted(maps.Keys(keys))
	found := map[string][]string{} // key → paths made now
	for batch := range slices.Chunk(all, keyBatch) {
		args := keyArgs(batch)
		query := "SELECT * FROM (" + clean(r.Query) + ") AS q WHERE q." + r.Key + b.site.db.in(len(batch))
		if r.OrderBy != "" {
			query += " ORDER BY " + r.OrderBy
		}
		ok := true
		err := b.stream(r, query, args, func(row Row) bool {
			key := keyString(row[r.Key])
			u.reason = keys[key]
			var path string
			path, ok = b.detailRow(r, row, nil)
			if path != "" {
				found[key] = append(found[key], path)
			}
			return ok
		})
		if err != nil {
			u.fail(&bake.Error{Route: r.Name, Err: err})
			return false
		}
		if !ok {
			return false
		}
	}
	for _, k := range all {
		old, err := u.prev.Paths(b.ctx, r.Name, k)
		if err != nil {
			u.fail(err)
			return false
		}
		for _, p := range old {
			if slices.Contains(found[k], p) {
				continue
			}
			why := keys[k] + ": row no longer selected"
			if len(found[k]) > 0 {
				why = keys[k] + ": page moved to " + found[k][0]
			}
			if !u.remove(r.Name, p, why) {
				return false
			}
		}
	}
	return true
}
