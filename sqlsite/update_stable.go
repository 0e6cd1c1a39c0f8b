package sqlsite

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/bakehq/bake"
)

// stableUpdate re-renders the pages of stable list r that w touches, and
// only those: the page each changed row was on at the last build, the
// page each is on now (the one whose range covers it, in its group), and,
// when a first page reaches 2 × per_page rows, the pages it gives up and
// the page below it (whose newer neighbour changes). Each is read by the
// keys of its rows: the last build's, less the rows that changed, plus
// those that are on it now.
//
// A list (a group) is made again whole, each page whose inputs changed
// rendered, when it kept no boundaries (a new group), when it lost its
// last row, when its template shows the number of rows (.Pager.TotalItems),
// or the number of pages and the first page gives up a page, when its
// path slugs the group (two values may share a path), or when the rows
// read are not the ones expected (a change was not told).
func (u *updateRun) stableUpdate(r *Route, w *routeWork) bool {
	b := u.b
	ctx := b.ctx
	db := b.site.db
	why := strings.Join(slices.Compact(slices.Sorted(maps.Values(w.moved))), "; ")
	if why == "" {
		why = strings.Join(slices.Compact(slices.Sorted(maps.Values(w.pages))), "; ")
	}
	stats := u.site.stats[r.Name]
	whole := func(reason string) bool {
		stats.StableWhole.Add(1)
		u.reason = reason
		return u.rerun(r, func() bool { return b.route(r) }, func(string) string { return reason + ": page no longer made" })
	}
	rt := u.site.tmpl.routes[r.Template]
	grouped := r.GroupBy != ""
	if rt.showsItems() || grouped && r.pattern.slugged() {
		return whole(why)
	}
	order := r.stableOrder(db.dialect)

	type page struct {
		keys   []string // the last build's, then this one's
		why    string
		loaded bool
		rows   []Row
	}
	type list struct {
		st    *stableState
		old   int // pages at the last build
		pages map[int]*page
		total int
		group any // grouped: the group's value, once known
		known bool
	}
	lists := map[string]*list{}
	redo := map[string]string{} // groups made again whole: base → reason
	var failed error
	get := func(base, reason string) *list {
		if _, ok := redo[base]; ok {
			return nil
		}
		if l := lists[base]; l != nil {
			return l
		}
		st, fresh, err := b.stableList(r, base)
		if err != nil {
			failed = err
			return nil
		}
		if fresh {
			redo[base] = reason // a group new to the list
			return nil
		}
		l := &list{st: st, old: st.pages(), pages: map[int]*page{}, total: st.Total}
		lists[base] = l
		return l
	}
	pageOf := func(l *list, n int, reason string) *page {
		p := l.pages[n]
		if p == nil {
			p = &page{why: reason}
			l.pages[n] = p
		}
		return p
	}
	load := func(base string, l *list, n int, reason string) error {
		p := pageOf(l, n, reason)
		if p.loaded {
			return nil
		}
		e, ok, err := u.prev.Lookup(ctx, stablePath(base, n, l.old))
		if err != nil {
			return err
		}
		if ok {
			p.keys = rowKeys(e.Deps, r.Table)
		}
		p.loaded = true
		return nil
	}

	// Where the changed rows were.
	moved := slices.Sorted(maps.Keys(w.moved))
	was := map[string]string{} // key → base of its list
	for _, k := range moved {
		entries, err := u.prev.ByDep(ctx, bake.RowDep(r.Table, k))
		if err != nil {
			u.fail(err)
			return false
		}
		for _, e := range entries {
			if e.Route != r.Name {
				continue
			}
			base := r.listBase(e.Path)
			was[k] = base
			l := get(base, w.moved[k])
			if l == nil {
				continue
			}
			n := stablePage(base, e.Path, l.old)
			if n == 0 {
				redo[base] = w.moved[k] // not a page of the kept pagination
				continue
			}
			p := pageOf(l, n, w.moved[k])
			p.keys, p.loaded = rowKeys(e.Deps, r.Table), true
		}
	}
	// Where they are now.
	type place struct {
		base string
		n    int
	}
	now := map[string]place{}
	for batch := range slices.Chunk(moved, keyBatch) {
		q := "SELECT * FROM (" + clean(r.Query) + ") AS q WHERE q." + r.Key + db.in(len(batch))
		err := b.stream(r, q, keyArgs(batch), func(row Row) bool {
			k := keyString(row[r.Key])
			base := r.Path
			if grouped {
				g := row[r.GroupBy]
				var err error
				if g == nil {
					failed = errNeedsWhole
					return false
				}
				if base, err = r.pattern.fill(func(string) (any, bool) { return g, true }); err != nil {
					failed = errNeedsWhole
					return false
				}
				if l := get(base, w.moved[k]); l != nil && !l.known {
					l.group, l.known = g, true
				}
			}
			l := get(base, w.moved[k])
			if l == nil {
				now[k] = place{base: base}
				return failed == nil
			}
			now[k] = place{base: base, n: order.pageOf(l.st, order.tuple(row))}
			return true
		})
		if err != nil {
			u.fail(&bake.Error{Route: r.Name, Err: err})
			return false
		}
	}
	if failed == errNeedsWhole {
		return whole(why)
	}
	if failed != nil {
		u.fail(&bake.Error{Route: r.Name, Err: failed})
		return false
	}
	for _, k := range moved {
		from := was[k]
		to, on := now[k]
		if l := lists[from]; l != nil && from != "" && (!on || to.base != from) {
			l.total--
		}
		if l := lists[to.base]; l != nil && on && to.base != from {
			l.total++
		}
		if l := lists[to.base]; l != nil && on && to.n > 0 {
			if err := load(to.base, l, to.n, w.moved[k]); err != nil {
				u.fail(err)
				return false
			}
		}
	}
	// Pages whose rows changed in content only.
	for path, reason := range w.pages {
		base := r.listBase(path)
		l := get(base, reason)
		if l == nil {
			continue
		}
		n := stablePage(base, path, l.old)
		if n == 0 {
			redo[base] = reason
			continue
		}
		p := pageOf(l, n, reason)
		if !p.loaded {
			p.keys, p.loaded = w.pageKeys[path], true
		}
	}
	if failed != nil {
		u.fail(&bake.Error{Route: r.Name, Err: failed})
		return false
	}

	read := func(p *page) (bool, error) {
		if slices.Contains(p.keys, "NULL") {
			return false, nil // a NULL key is recorded as "NULL" too
		}
		p.rows = nil
		for batch := range slices.Chunk(p.keys, keyBatch) {
			q := "SELECT * FROM (" + clean(r.Query) + ") AS q WHERE q." + r.Key + db.in(len(batch)) + " ORDER BY " + r.orderBy()
			err := b.stream(r, q, keyArgs(batch), func(row Row) bool { p.rows = append(p.rows, row); return true })
			if err != nil {
				return false, err
			}
		}
		if len(p.keys) > keyBatch {
			slices.SortStableFunc(p.rows, func(a, c Row) int { return order.compare(order.tuple(a), order.tuple(c)) })
		}
		return len(p.rows) == len(p.keys), nil
	}
	// Each list's pages: their rows now, the pages a full first page gives
	// up, the page below it.
	bases := slices.Sorted(maps.Keys(lists))
	pagesNow := map[string]int{}
	for _, base := range bases {
		l := lists[base]
		if _, ok := redo[base]; ok {
			continue
		}
		if l.total <= 0 {
			redo[base] = why // the group is gone: its pages are removed
			continue
		}
		for n, p := range l.pages {
			keys := slices.DeleteFunc(slices.Clone(p.keys), func(k string) bool { _, m := w.moved[k]; return m })
			for _, k := range moved {
				if to, on := now[k]; on && to.base == base && to.n == n {
					keys = append(keys, k)
				}
			}
			p.keys = keys
		}
		ok := true
		for _, n := range slices.Sorted(maps.Keys(l.pages)) {
			good, err := read(l.pages[n])
			if err != nil {
				u.fail(&bake.Error{Route: r.Name, Path: stablePath(base, n, l.old), Err: err})
				return false
			}
			ok = ok && good
		}
		if !ok {
			redo[base] = why // not the rows the index and the changes say
			continue
		}
		pagesNow[base] = l.old
		front := l.pages[l.old]
		if front == nil {
			continue
		}
		s := splits(len(front.rows), r.PerPage)
		if s == 0 {
			continue
		}
		if rt.showsPages() {
			redo[base] = why // every page shows the number of pages
			continue
		}
		n := l.old + s
		pagesNow[base] = n
		rows := front.rows
		nfront := len(rows) - s*r.PerPage
		front.rows = rows[:nfront]
		delete(l.pages, l.old) // the front is page n now
		l.pages[n] = front
		added := make([][]any, s)
		for i := range s {
			chunk := rows[nfront+i*r.PerPage : nfront+(i+1)*r.PerPage]
			k := n - 1 - i
			added[k-l.old] = order.tuple(chunk[0])
			l.pages[k] = &page{rows: chunk, why: front.why + ": the first page gave up its older rows"}
		}
		l.st.bounds = append(l.st.bounds, added...)
		if l.old > 1 && l.pages[l.old-1] == nil {
			// Its newer neighbour is no longer the first page.
			if err := load(base, l, l.old-1, front.why+": a page was added"); err != nil {
				u.fail(err)
				return false
			}
			if good, err := read(l.pages[l.old-1]); err != nil || !good {
				if err != nil {
					u.fail(&bake.Error{Route: r.Name, Err: err})
					return false
				}
				redo[base] = why
			}
		}
	}
	if len(redo) > 0 && !grouped {
		return whole(redo[r.Path])
	}
	for _, base := range bases {
		l := lists[base]
		if _, ok := redo[base]; ok {
			continue
		}
		if grouped && !l.known {
			for _, p := range l.pages {
				if len(p.rows) > 0 {
					l.group, l.known = p.rows[0][r.GroupBy], true
					break
				}
			}
		}
		if grouped && !l.known {
			g, matched, err := u.groupValue(r, r.matcher(), base)
			if !matched || err != nil {
				redo[base] = why
				continue
			}
			l.group = g
		}
		g := l.group
		args := noArgs
		if grouped {
			args = func(k string) (any, bool) { return g, k == r.GroupBy }
		}
		l.st.Total = l.total
		for _, n := range slices.Sorted(maps.Keys(l.pages)) {
			p := l.pages[n]
			u.reason = p.why
			stats.StablePages.Add(1)
			data := &PageData{Rows: p.rows, Pager: newStablePager(base, n, pagesNow[base], l.total)}
			if grouped {
				data.Group = g
			}
			if !b.emit(b.page(r, stablePath(base, n, pagesNow[base]), "", rowDeps(r, p.rows), data, args)) {
				return false
			}
		}
		b.keepStable(r, base, l.st)
	}
	if len(redo) > 0 {
		stats.StableWhole.Add(1)
		return u.groupLists(r, w, redo)
	}
	return true
}

// errNeedsWhole stops a stable update that must make the list whole again.
var errNeedsWhole = errors.New("the list must be made whole again")
