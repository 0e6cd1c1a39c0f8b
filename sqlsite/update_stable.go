package sqlsite

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bakehq/bake"
)

// stableUpdate re-renders the pages of stable list r that w touches, and
// only those: the page each changed row was on at the last build, the
// page each is on now (the one whose range covers it), and, when the
// front reaches 2 × per_page rows, the pages it gives up and the page
// below it (whose newer neighbour changes). Each is read by the keys of
// its rows: the last build's, less the rows that changed, plus those that
// are on it now. The whole list is made again (each page whose inputs
// changed rendered) when no boundaries were kept, when the template shows
// the number of rows (.Pager.TotalItems), or the number of pages and the
// front gives up a page, or when the rows read are not the ones expected
// (a change was not told).
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
	st, fresh, err := b.stableList(r, r.Path)
	if err != nil {
		u.fail(&bake.Error{Route: r.Name, Err: err})
		return false
	}
	rt := u.site.tmpl.routes[r.Template]
	if fresh || rt.showsItems() {
		return whole(why)
	}
	order := r.stableOrder(db.dialect)
	base, old := r.Path, st.pages()

	type page struct {
		keys   []string // the last build's, then this one's
		why    string
		loaded bool
		rows   []Row
	}
	pages := map[int]*page{}
	get := func(n int, reason string) *page {
		p := pages[n]
		if p == nil {
			p = &page{why: reason}
			pages[n] = p
		}
		return p
	}
	load := func(n int, reason string) error {
		p := get(n, reason)
		if p.loaded {
			return nil
		}
		e, ok, err := u.prev.Lookup(ctx, stablePath(base, n, old))
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
	was := map[string]bool{}
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
			n := stablePage(base, e.Path, old)
			if n == 0 {
				return whole(why) // not a page of the kept pagination
			}
			was[k] = true
			p := get(n, w.moved[k])
			p.keys, p.loaded = rowKeys(e.Deps, r.Table), true
		}
	}
	// Where they are now.
	now := map[string]int{}
	for batch := range slices.Chunk(moved, keyBatch) {
		q := "SELECT * FROM (" + clean(r.Query) + ") AS q WHERE q." + r.Key + db.in(len(batch))
		err := b.stream(r, q, keyArgs(batch), func(row Row) bool {
			now[keyString(row[r.Key])] = order.pageOf(st, order.tuple(row))
			return true
		})
		if err != nil {
			u.fail(&bake.Error{Route: r.Name, Err: err})
			return false
		}
	}
	total := st.Total
	for _, k := range moved {
		_, in := now[k]
		switch {
		case was[k] && !in:
			total--
		case !was[k] && in:
			total++
		}
	}
	for _, k := range moved {
		if n, in := now[k]; in {
			if err := load(n, w.moved[k]); err != nil {
				u.fail(err)
				return false
			}
		}
	}
	// Pages whose rows changed in content only.
	for path, reason := range w.pages {
		n := stablePage(base, path, old)
		if n == 0 {
			return whole(reason)
		}
		p := get(n, reason)
		if !p.loaded {
			p.keys, p.loaded = w.pageKeys[path], true
		}
	}
	// Their rows now: the last build's but those that changed, and those
	// that changed onto them.
	for n, p := range pages {
		keys := slices.DeleteFunc(slices.Clone(p.keys), func(k string) bool { _, m := w.moved[k]; return m })
		for _, k := range moved {
			if m, in := now[k]; in && m == n {
				keys = append(keys, k)
			}
		}
		p.keys = keys
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
	for _, n := range slices.Sorted(maps.Keys(pages)) {
		ok, err := read(pages[n])
		if err != nil {
			u.fail(&bake.Error{Route: r.Name, Path: stablePath(base, n, old), Err: err})
			return false
		}
		if !ok {
			return whole(why) // not the rows the index and the changes say
		}
	}
	// A front of 2 × per_page rows or more gives up pages.
	pagesNow := old
	if front := pages[old]; front != nil {
		if s := splits(len(front.rows), r.PerPage); s > 0 {
			if rt.showsPages() {
				return whole(why) // every page shows the number of pages
			}
			pagesNow = old + s
			rows := front.rows
			nfront := len(rows) - s*r.PerPage
			front.rows = rows[:nfront]
			delete(pages, old) // the front is page pagesNow now
			pages[pagesNow] = front
			added := make([][]any, s)
			for i := range s {
				chunk := rows[nfront+i*r.PerPage : nfront+(i+1)*r.PerPage]
				n := pagesNow - 1 - i
				added[n-old] = order.tuple(chunk[0])
				pages[n] = &page{rows: chunk, why: front.why + ": the first page gave up its older rows"}
			}
			st.bounds = append(st.bounds, added...)
			if old > 1 && pages[old-1] == nil {
				// Its newer neighbour is no longer the first page.
				if err := load(old-1, front.why+": a page was added"); err != nil {
					u.fail(err)
					return false
				}
				if ok, err := read(pages[old-1]); err != nil || !ok {
					if err != nil {
						u.fail(&bake.Error{Route: r.Name, Err: err})
						return false
					}
					return whole(why)
				}
			}
		}
	}
	st.Total = total
	for _, n := range slices.Sorted(maps.Keys(pages)) {
		p := pages[n]
		u.reason = p.why
		stats.StablePages.Add(1)
		data := &PageData{Rows: p.rows, Pager: newStablePager(base, n, pagesNow, total)}
		if !b.emit(b.page(r, stablePath(base, n, pagesNow), "", rowDeps(r, p.rows), data, noArgs)) {
			return false
		}
	}
	b.keepStable(r, r.Path, st)
	if pagesNow != old {
		b.site.log.Debug("stable list gave up pages", "route", r.Name, "pages", fmt.Sprint(old, "→", pagesNow))
	}
	return true
}
