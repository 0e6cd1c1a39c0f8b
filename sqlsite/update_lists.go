package sqlsite

// How an update reruns lists: one page whose rows changed content, the
// groups a row left or joined, and the sitemap when the pages it lists
// changed. What a change re-renders is told in the doc of Site.Update.

import (
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bakehq/bake"
)

// listBase splits the path of a list page into the list's first page and
// the page number.
func listBase(path string) (base string, n int) {
	if i := strings.LastIndex(strings.TrimSuffix(path, "/"), "/page/"); i >= 0 && strings.HasSuffix(path, "/") {
		if v, err := strconv.Atoi(path[i+len("/page/") : len(path)-1]); err == nil && v > 1 {
			return path[:i+1], v
		}
	}
	return path, 1
}

// groupBases returns the first pages of the groups of grouped list r that
// row key was in at the last build or is in now (none, not nil, when it is
// in none); nil when that cannot be told (the row's group is NULL).
func (u *updateRun) groupBases(r *Route, key string) ([]string, error) {
	ctx := u.b.ctx
	bases := map[string]bool{}
	entries, err := u.prev.ByDep(ctx, bake.RowDep(r.Table, key))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Route == r.Name {
			bases[r.listBase(e.Path)] = true
		}
	}
	db := u.site.db
	u.site.stats[r.Name].Queries.Add(1)
	rows, err := db.QueryContext(ctx, "SELECT q."+r.GroupBy+" FROM ("+clean(r.Query)+") AS q WHERE q."+r.Key+" = "+db.placeholder(1), key)
	if err != nil {
		return nil, fmt.Errorf("find the group of row %s: %w", key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var g any
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("find the group of row %s: %w", key, err)
		}
		if bs, ok := g.([]byte); ok {
			g = string(bs)
		}
		if g == nil {
			return nil, nil
		}
		base, err := r.pattern.fill(func(string) (any, bool) { return g, true })
		if err != nil {
			return nil, nil // the full pass reports it
		}
		bases[base] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find the group of row %s: %w", key, err)
	}
	// Not nil when empty: a row in no group then and now changes none.
	return append([]string{}, slices.Sorted(maps.Keys(bases))...), nil
}

// groupLists reruns the lists of some groups of grouped list r, given by
// the paths of their first pages, and removes their pages that are no
// longer made (a group that lost rows, or all of them).
func (u *updateRun) groupLists(r *Route, w *routeWork, groups map[string]string) bool {
	b := u.b
	var values []any
	var reasons []string
	m := r.matcher()
	for _, base := range slices.Sorted(maps.Keys(groups)) {
		if !slices.Contains(reasons, groups[base]) {
			reasons = append(reasons, groups[base])
		}
		g, matched, err := u.groupValue(r, m, base)
		switch {
		case !matched:
			return u.redo(r, &routeWork{full: groups[base]})
		case errors.Is(err, sql.ErrNoRows):
			continue // the group is gone: its pages are removed below
		case errors.Is(err, errSlugCollision):
			return u.redo(r, &routeWork{full: groups[base]}) // reported as a full pass does
		case err != nil:
			u.fail(&bake.Error{Route: r.Name, Path: base, Err: fmt.Errorf("find group: %w", err)})
			return false
		}
		values = append(values, g)
	}
	u.reason = strings.Join(reasons, "; ")
	// Groups whose pages are spliced are done; the others are rerun.
	var spliced map[string]bool
	if len(values) > 0 && u.site.spliceable(r) {
		spliced = map[string]bool{}
		var rest []any
		for _, g := range values {
			base, err := r.pattern.fill(func(string) (any, bool) { return g, true })
			if err != nil {
				rest = append(rest, g)
				continue
			}
			done, ok := u.spliceOne(r, w, spliceTarget{base: base, group: g, grouped: true}, w.groupKeys)
			if !ok {
				return false
			}
			if done {
				spliced[base] = true
			} else {
				rest = append(rest, g)
			}
		}
		if len(rest) == 0 && len(spliced) == len(groups) {
			return true
		}
		values = rest
	}
	if r.stable() {
		// A group gone keeps no boundaries; the others are made again.
		if err := b.forgetBases(r, slices.Collect(maps.Keys(groups))); err != nil {
			u.fail(&bake.Error{Route: r.Name, Err: err})
			return false
		}
	}
	return u.rerun(r, func() bool { return len(values) == 0 || b.groupedListOf(r, values) }, func(p string) string {
		if base := r.listBase(p); groups[base] != "" && !spliced[base] {
			return groups[base] + ": page no longer made"
		}
		return "" // another group's page: not made again, and kept
	})
}

// groupValue returns the value of grouped list r's group whose first page
// is base, as the database has it: the pattern's match of the path (m is
// r.matcher()), compared with the rows' values. matched is false when base
// does not fit the route's path; err wraps sql.ErrNoRows when no row of
// the query is in that group.
func (u *updateRun) groupValue(r *Route, m *regexp.Regexp, base string) (g any, matched bool, err error) {
	vals := m.FindStringSubmatch(base)
	if vals == nil {
		return nil, false, nil
	}
	if r.pattern.slugged() {
		g, err := u.slugGroup(r, base)
		return g, true, err
	}
	db := u.site.db
	err = db.QueryRowContext(u.b.ctx, "SELECT q."+r.GroupBy+" FROM ("+clean(r.Query)+") AS q WHERE q."+r.GroupBy+" = "+db.placeholder(1)+" LIMIT 1",
		vals[m.SubexpIndex(r.GroupBy)]).Scan(&g)
	if bs, ok := g.([]byte); ok {
		g = string(bs)
	}
	return g, true, err
}

// rerun runs run, which yields pages of route r again, then removes the
// pages of r in the last build that run did not yield, and for which
// gone returns a reason (not "").
func (u *updateRun) rerun(r *Route, run func() bool, gone func(path string) string) bool {
	u.routePaths = map[string]bool{}
	if !run() {
		return false
	}
	yielded := u.routePaths
	u.routePaths = nil
	old, err := u.prev.Paths(u.b.ctx, r.Name, "")
	if err != nil {
		u.fail(err)
		return false
	}
	for _, p := range old {
		if yielded[p] {
			continue
		}
		if why := gone(p); why != "" && !u.remove(r.Name, p, why) {
			return false
		}
	}
	return true
}

// listPage re-renders one page of a list whose rows did not change in
// number or order: only their content did. keys are those of the rows it
// showed at the last build.
func (u *updateRun) listPage(r *Route, path string, keys []string) bool {
	b := u.b
	base, n := listBase(path)
	var (
		where string
		args  []any
		group any
	)
	if r.GroupBy != "" {
		g, matched, err := u.groupValue(r, r.matcher(), base)
		if !matched {
			u.fail(&bake.Error{Route: r.Name, Path: path, Err: errors.New("page path does not match the route's path")})
			return false
		}
		if err != nil {
			// The group is gone or its value does not read back from the
			// path: rerun the route.
			return u.redo(r, &routeWork{full: u.reason})
		}
		group = g
		where, args = " WHERE q."+r.GroupBy+" = "+b.site.db.placeholder(1), []any{group}
	}
	// One count a list (and group) for the whole update: a title update
	// re-renders a page of several lists, and a stream of them counted
	// every list again for each page (half the CPU of such a build).
	ck := fmt.Sprintf("%s\x00%T\x00%v", r.Name, group, group)
	u.countMu.Lock()
	total, counted := u.counts[ck]
	u.countMu.Unlock()
	if !counted {
		b.site.stats[r.Name].Queries.Add(1)
		if err := b.site.db.QueryRowContext(b.ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q"+where, args...).Scan(&total); err != nil {
			u.fail(&bake.Error{Route: r.Name, Path: path, Err: fmt.Errorf("count rows: %w", err)})
			return false
		}
		u.countMu.Lock()
		if u.counts == nil {
			u.counts = map[string]int{}
		}
		u.counts[ck] = total
		u.countMu.Unlock()
	}
	order := r.orderBy()
	if r.GroupBy != "" && order == "" {
		order = r.GroupBy
	}
	from := "SELECT * FROM (" + clean(r.Query) + ") AS q"
	var rows []Row
	read := func(query string, args []any) bool {
		rows = nil
		err := b.stream(r, query, args, func(row Row) bool { rows = append(rows, row); return true })
		if err != nil {
			u.fail(&bake.Error{Route: r.Name, Path: path, Err: err})
		}
		return err == nil
	}
	if r.PerPage > 0 && len(keys) > 0 && len(keys) <= r.PerPage && totalOrder(order, r.Key) && !slices.Contains(keys, "NULL") {
		// The page holds the rows it held, in the same order (their
		// number and order did not change, and no two tie): read them by
		// key, not by skipping the rows of the pages before (OFFSET reads
		// them all: 15 ms on page 1,800 of a list of 90,000). Not when a
		// key is "NULL", which is how a NULL key is recorded too.
		byKey := " WHERE "
		if where != "" {
			byKey = where + " AND "
		}
		byKey += "q." + r.Key + b.site.db.inAt(len(args)+1, len(keys))
		if !read(from+byKey+" ORDER BY "+order, append(slices.Clip(args), keyArgs(keys)...)) {
			return false
		}
		if len(rows) == len(keys) {
			b.site.stats[r.Name].ListPagesByKey.Add(1)
		} else {
			rows = nil // not what the last build showed after all: read the page as a build does
		}
	}
	if rows == nil {
		query := from + where
		if order != "" {
			query += " ORDER BY " + order
		}
		if r.PerPage > 0 {
			query += " LIMIT " + strconv.Itoa(r.PerPage) + " OFFSET " + strconv.Itoa((n-1)*r.PerPage)
		}
		if !read(query, args) {
			return false
		}
	}
	data := &PageData{Rows: rows, Pager: newPager(base, n, pageCount(total, r.PerPage), total)}
	qargs := noArgs
	if r.GroupBy != "" {
		data.Group = group
		qargs = func(k string) (any, bool) { return group, k == r.GroupBy }
	}
	return b.emit(b.page(r, path, "", rowDeps(r, rows), data, qargs))
}

// sitemaps re-renders the sitemap when the pages it lists changed.
func (u *updateRun) sitemaps() bool {
	s := u.site
	var r *Route
	for i := range s.cfg.Routes {
		if s.cfg.Routes[i].Kind == KindSitemap {
			r = &s.cfg.Routes[i]
			break
		}
	}
	if r == nil || len(u.sitemapDelta) == 0 {
		return true
	}
	ctx := u.b.ctx
	changed := ""
	for _, p := range slices.Sorted(maps.Keys(u.sitemapDelta)) {
		now := u.sitemapDelta[p]
		e, ok, err := u.prev.Lookup(ctx, p)
		if err != nil {
			u.fail(err)
			return false
		}
		was := sitemapItem{}
		if ok {
			was = s.sitemapItem(e.Route, e.Type, e.Redirect, e.Path, e.LastMod.Unix(), !e.LastMod.IsZero())
		}
		if was != now {
			changed = p
			break
		}
	}
	if changed == "" {
		return true
	}
	u.reason = "the pages listed changed (" + changed + ")"
	gone := func(string) string { return "sitemap has fewer parts" }
	if sp, ok := u.spliceSitemap(r); ok {
		return u.rerun(r, func() bool { return u.b.emitSpliced(r, sp, func(p string) { u.routePaths[p] = true }) }, gone)
	}
	sm, err := newSitemapCollector(r.Exclude)
	if err != nil {
		u.fail(&bake.Error{Route: r.Name, Err: err})
		return false
	}
	// The last build's pages, with this pass's changes merged in, by path.
	added := slices.Sorted(maps.Keys(u.sitemapDelta))
	addItem := func(path string, it sitemapItem) {
		if it.in {
			sm.addPath(path, it.lastmod)
		}
	}
	merge := func(path string, it sitemapItem) {
		for len(added) > 0 && added[0] < path {
			addItem(added[0], u.sitemapDelta[added[0]])
			added = added[1:]
		}
		if len(added) > 0 && added[0] == path {
			return // replaced: added below, in order
		}
		addItem(path, it)
	}
	if prev, ok := u.prevSitemap(r); ok {
		for _, p := range prev {
			merge(p.path, sitemapItem{in: true, lastmod: p.lastmod})
		}
	} else {
		s.stats[r.Name].SitemapFallbacks.Add(1)
		for e, err := range u.prev.Outline(ctx) {
			if err != nil {
				u.fail(err)
				return false
			}
			merge(e.Path, s.sitemapItem(e.Route, e.Type, e.Redirect, e.Path, e.LastMod.Unix(), !e.LastMod.IsZero()))
		}
	}
	for _, p := range added {
		addItem(p, u.sitemapDelta[p])
	}
	u.b.sitemap = sm
	return u.rerun(r, func() bool { return u.b.sitemapPages(r) }, gone)
}

// listFrom reruns non-grouped list r after the rows of w.moved were
// inserted, deleted, or changed in a column the list filters or orders by,
// making only the pages those rows can have changed:
//   - when every one of them left the list (deleted, or no longer selected)
//     and the list keeps its number of pages, the pages before the first
//     one that showed such a row hold the same rows under the same pager:
//     they are neither read (the query skips their rows with OFFSET) nor
//     made again, unless the template shows the number of rows
//     (.Pager.TotalItems);
//   - when every one of them was in the list and still is (it moved: a
//     newer date sends it to the top), the list holds the same rows: past
//     the last page that showed one of them, once each has been seen at
//     its new place, the pages are as they were, and the query stops;
//   - otherwise (a row joined the list) every page is made again.
//
// Pages are made again only when their inputs changed (their digests);
// the pages of w.pages (rows whose content changed) left out of the rerun
// are re-rendered one by one.
func (u *updateRun) listFrom(r *Route, w *routeWork) bool {
	b := u.b
	reasons := slices.Sorted(maps.Values(w.moved))
	u.reason = strings.Join(slices.Compact(reasons), "; ")
	if done, ok := u.spliceList(r, w); done {
		return ok
	}
	sp, err := u.movedSpan(r, w.moved)
	if err != nil {
		u.fail(&bake.Error{Route: r.Name, Err: err})
		return false
	}
	if sp == nil {
		sp = &listSpan{from: math.MaxInt} // nothing to rerun, but w.pages
	} else {
		b.span = sp
		ok := u.rerun(r, func() bool { return b.route(r) }, func(p string) string {
			if _, n := listBase(p); !sp.covers(n) {
				return "" // outside the rerun: kept as it was
			}
			return u.reason + ": page no longer made"
		})
		b.span = nil
		if !ok {
			return false
		}
	}
	for _, p := range slices.Sorted(maps.Keys(w.pages)) {
		if _, n := listBase(p); !sp.covers(n) {
			u.reason = w.pages[p]
			if !u.listPage(r, p, w.pageKeys[p]) {
				return false
			}
		}
	}
	return true
}

// movedSpan returns the pages of list r that the rows with these keys can
// have changed (see listFrom), or nil when they were in the list neither at
// the last build nor now.
func (u *updateRun) movedSpan(r *Route, moved map[string]string) (*listSpan, error) {
	all := &listSpan{from: 1}
	if r.PerPage <= 0 {
		return all, nil // one page: nothing to skip (work made sure of an order)
	}
	ctx := u.b.ctx
	db := u.site.db
	keys := slices.Sorted(maps.Keys(moved))
	now := map[string]bool{}
	for batch := range slices.Chunk(keys, keyBatch) {
		u.site.stats[r.Name].Queries.Add(1)
		rows, err := db.QueryContext(ctx, "SELECT q."+r.Key+" FROM ("+clean(r.Query)+") AS q WHERE q."+r.Key+db.in(len(batch)), keyArgs(batch)...)
		if err != nil {
			return nil, fmt.Errorf("find rows in the list: %w", err)
		}
		for rows.Next() {
			var k any
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find rows in the list: %w", err)
			}
			now[keyString(k)] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("find rows in the list: %w", err)
		}
	}
	first, last := 0, 0  // pages of the last build that showed them
	left, stayed := 0, 0 // rows that left the list, rows in it then and now
	watch := map[string]bool{}
	for _, k := range keys {
		entries, err := u.prev.ByDep(ctx, bake.RowDep(r.Table, k))
		if err != nil {
			return nil, err
		}
		was := false
		for _, e := range entries {
			if e.Route != r.Name {
				continue
			}
			_, n := listBase(e.Path)
			was = true
			if first == 0 || n < first {
				first = n
			}
			last = max(last, n)
		}
		switch {
		case was && now[k]:
			stayed++
			watch[k] = true
		case was:
			left++
		case now[k]:
			return all, nil // it joined the list: it may be anywhere
		}
	}
	if left == 0 && stayed == 0 {
		return nil, nil
	}
	paths, err := u.prev.Paths(ctx, r.Name, "")
	if err != nil {
		return nil, err
	}
	switch {
	case stayed == 0:
		if u.site.tmpl.routes[r.Template].showsItems() {
			return all, nil // every page shows the number of rows
		}
		return &listSpan{from: first, pages: len(paths)}, nil
	case left == 0:
		return &listSpan{from: 1, through: last, watch: watch, pages: len(paths)}, nil
	}
	return all, nil
}
