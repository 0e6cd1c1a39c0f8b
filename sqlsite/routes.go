package sqlsite

import (
	"fmt"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/sqlscan"
)

// stream runs a route's query and calls fn for each row, counting.
func (b *buildRun) stream(r *Route, query string, args []any, fn func(Row) bool) error {
	st := b.site.stats[r.Name]
	st.Queries.Add(1)
	rows, err := b.site.db.QueryContext(b.ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	sc, err := newRowScanner(rows)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	for rows.Next() {
		row, err := sc.scan()
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		st.Rows.Add(1)
		if !fn(row) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return nil
}

// orderBy returns r's order_by (an archive's defaults to its date, newest
// first), and for a list or archive whose order may have ties and whose
// query returns its key, the key after it: the pages cut from
// one query must hold the rows they held in the last (PostgreSQL orders
// tied rows one way in one query and another way in the next), and a
// build must be the same every time.
func (r *Route) orderBy() string {
	order := r.OrderBy
	if r.Kind == KindArchive && order == "" {
		order = r.Date + " DESC"
	}
	if (r.Kind == KindList || r.Kind == KindArchive) && order != "" && r.keyCol && !totalOrder(order, r.Key) {
		order += ", q." + r.Key
	}
	return order
}

// ordered wraps a route's query with a WHERE clause on its columns (where,
// "" or " WHERE q.…") and its order_by, after the column first if any.
func ordered(r *Route, first, where string) string {
	q := clean(r.Query)
	where = r.withShard(where)
	if where != "" {
		q = "SELECT * FROM (" + q + ") AS q" + where
	}
	order := r.orderBy()
	if first != "" {
		if order != "" {
			order = first + ", " + order
		} else {
			order = first
		}
	}
	if order == "" {
		return q
	}
	return "SELECT * FROM (" + q + ") AS q ORDER BY " + order
}

// paginator cuts a stream of rows into pages of per rows (all rows on one
// page when per is 0); each group of rows gets its own pages, numbered from 1.
type paginator struct {
	per  int
	n    int // number of the page being filled
	buf  []Row
	emit func(n int, rows []Row) bool
}

func newPaginator(per int, emit func(n int, rows []Row) bool) *paginator {
	return &paginator{per: per, n: 1, emit: emit, buf: make([]Row, 0, min(max(per, 1), 1024))}
}

// add appends a row, emitting the page when it is full.
func (p *paginator) add(row Row) bool {
	p.buf = append(p.buf, row)
	if p.per > 0 && len(p.buf) == p.per {
		return p.flush()
	}
	return true
}

// flush emits the rows of a page that is not full; nothing if there are none.
func (p *paginator) flush() bool {
	if len(p.buf) == 0 {
		return true
	}
	ok := p.emit(p.n, p.buf)
	p.n++
	p.buf = make([]Row, 0, cap(p.buf))
	return ok
}

// next ends the current group and numbers the next group's pages from 1.
func (p *paginator) next() bool {
	ok := p.flush()
	p.n = 1
	return ok
}

// pageCount is the number of pages total rows make, at least 1.
func pageCount(total, per int) int {
	if per <= 0 {
		return 1
	}
	return max(1, (total+per-1)/per)
}

// list renders a list route, paginated, optionally one list per group.
func (b *buildRun) list(r *Route) bool {
	if r.GroupBy != "" {
		return b.groupedList(r)
	}
	if r.stable() {
		return b.stableWhole(r)
	}
	s := b.site
	var total int
	s.stats[r.Name].Queries.Add(1)
	if err := s.db.QueryRowContext(b.ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q").Scan(&total); err != nil {
		return b.fail(r, r.Path, "", fmt.Errorf("count rows: %w", err))
	}
	pages := pageCount(total, r.PerPage)
	sp := b.span // made for ordered, paginated lists only (movedSpan)
	limited := sp != nil && pages == sp.pages
	stop := false
	pg := newPaginator(r.PerPage, func(n int, rows []Row) bool {
		data := &PageData{Rows: rows, Pager: newPager(r.Path, n, max(pages, n), total)}
		if !b.emit(b.page(r, withPage(r.Path, n), "", rowDeps(r, rows), data, noArgs)) {
			return false
		}
		if limited && sp.through > 0 && n >= sp.through && len(sp.watch) == 0 {
			stop, sp.stopped = true, n // the pages after are as they were
		}
		return true
	})
	query := ordered(r, "", "")
	if limited && sp.from > 1 && sp.from <= pages {
		query += b.site.db.offset((sp.from - 1) * r.PerPage)
		pg.n = sp.from
	} else if sp != nil {
		sp.from = 1
	}
	ok := true
	if err := b.stream(r, query, nil, func(row Row) bool {
		if limited && len(sp.watch) > 0 {
			delete(sp.watch, keyString(row[r.Key]))
		}
		ok = pg.add(row)
		return ok && !stop
	}); err != nil {
		return b.fail(r, r.Path, "", err)
	}
	if stop {
		return ok
	}
	if ok && pg.n == 1 && len(pg.buf) == 0 {
		return pg.emit(1, nil) // an empty list still has its first page
	}
	return ok && pg.flush()
}

// groupedList renders one paginated list per value of the group_by column:
// it counts each group first, then streams the rows ordered by group.
func (b *buildRun) groupedList(r *Route) bool { return b.groupedListOf(r, b.shardGroups(r)) }

// groupedListOf renders the lists of the groups with these values only
// (all groups when only is nil).
func (b *buildRun) groupedListOf(r *Route, only []any) bool {
	s := b.site
	where := ""
	if only != nil {
		where = " WHERE q." + r.GroupBy + s.db.in(len(only))
	}
	counts := map[string]int{}
	s.stats[r.Name].Queries.Add(1)
	rows, err := s.db.QueryContext(b.ctx, "SELECT "+r.GroupBy+", COUNT(*) FROM ("+clean(r.Query)+") AS q"+where+" GROUP BY "+r.GroupBy, only...)
	if err != nil {
		return b.fail(r, r.Path, "", fmt.Errorf("count rows by %s: %w", r.GroupBy, err))
	}
	for rows.Next() {
		var g any
		var c int
		if err := rows.Scan(&g, &c); err != nil {
			rows.Close()
			return b.fail(r, r.Path, "", fmt.Errorf("count rows by %s: %w", r.GroupBy, err))
		}
		if bs, ok := g.([]byte); ok {
			g = string(bs)
		}
		counts[keyString(g)] = c
	}
	rows.Close()
	var (
		group   any
		gkey    string
		base    string
		badBase error
		started bool
		nulls   int
		ok      = true
		slugged = r.pattern.slugged()
		seen    = map[string]any{} // slugged: base → its group
	)
	emit := func(n, pages int, rows []Row) bool {
		if badBase != nil {
			first := 1 // the page made first, to say it once
			if r.stable() {
				first = pages
			}
			return n != first || b.fail(r, "", fmt.Sprintf("%s=%v", r.GroupBy, group), badBase)
		}
		total := counts[gkey]
		g := group
		data := &PageData{Rows: rows, Group: g}
		path := withPage(base, n)
		if r.stable() {
			data.Pager, path = newStablePager(base, n, pages, total), stablePath(base, n, pages)
		} else {
			data.Pager = newPager(base, n, max(pageCount(total, r.PerPage), n), total)
		}
		args := func(k string) (any, bool) { return g, k == r.GroupBy }
		return b.emit(b.page(r, path, "", rowDeps(r, rows), data, args))
	}
	var pg listPaginator = newPaginator(r.PerPage, func(n int, rows []Row) bool { return emit(n, 0, rows) })
	if r.stable() {
		if err := b.forgetGroups(r, only); err != nil {
			return b.fail(r, r.Path, "", err)
		}
		pg = b.newStableGroups(r, func() (string, int) { return base, counts[gkey] }, emit)
	}
	err = b.stream(r, ordered(r, r.GroupBy, where), only, func(row Row) bool {
		g := row[r.GroupBy]
		if g == nil {
			nulls++
			return true
		}
		if k := keyString(g); k != gkey || !started {
			if ok = pg.next(); !ok {
				return false
			}
			group, gkey, started = g, k, true
			base, badBase = r.pattern.fill(func(string) (any, bool) { return g, true })
			if badBase == nil {
				_, badBase = bake.FileName(base)
			}
			if badBase == nil && slugged {
				if first, dup := seen[base]; dup {
					badBase = slugCollision(r, base, first, g)
				} else {
					seen[base] = g
				}
			}
		}
		ok = pg.add(row)
		return ok
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	ok = ok && pg.flush()
	if ok && nulls > 0 {
		ok = b.fail(r, r.Path, "", fmt.Errorf("%d rows have NULL in group_by column %s and are in no list; filter them out in the query", nulls, r.GroupBy))
	}
	return ok
}

// otherTableDeps returns the table deps of the tables a detail route's
// query reads besides its own; not nil, so that detailRow, which is given
// it, does not parse the query again for every row.
func otherTableDeps(r *Route) []bake.Dep {
	extra := []bake.Dep{}
	for _, t := range sqlscan.Tables(r.Query) {
		if t != r.Table {
			extra = append(extra, bake.TableDep(t))
		}
	}
	return extra
}

// detail renders one page per row.
func (b *buildRun) detail(r *Route) bool {
	extra := otherTableDeps(r)
	ok := true
	query, args := ordered(r, "", ""), []any(nil)
	slugged := false
	if b.narrow() {
		// Live preview: read only the row whose columns make the path (the
		// rows whose slugged columns might, compared here).
		var found bool
		if query, args, found = r.pathQuery(b.site.db, b.target); !found {
			return true
		}
		slugged = r.pattern.slugged()
	}
	err := b.stream(r, query, args, func(row Row) bool {
		if slugged && !r.makes(row, b.target) {
			return true
		}
		_, ok = b.detailRow(r, row, extra)
		return ok
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	return ok
}

// detailRow yields the page of one row of a detail route, and returns its
// path ("" when the row cannot make a page). extra are the deps of the
// route's other tables ([otherTableDeps]); nil to work them out.
func (b *buildRun) detailRow(r *Route, row Row, extra []bake.Dep) (string, bool) {
	if extra == nil {
		extra = otherTableDeps(r)
	}
	key := keyString(row[r.Key])
	path, err := r.pattern.fill(func(k string) (any, bool) { v, ok := row[k]; return v, ok })
	path = pagePath(path)
	if err == nil {
		_, err = bake.FileName(path)
	}
	if err != nil {
		return "", b.fail(r, "", key, err)
	}
	deps := append([]bake.Dep{bake.RowDep(r.Table, key)}, extra...)
	p := b.page(r, path, key, deps, &PageData{Row: row}, func(k string) (any, bool) { v, ok := row[k]; return v, ok })
	if r.LastMod != "" {
		if t, tok := asTime(row[r.LastMod]); tok {
			p.LastMod = t.UTC()
		}
	}
	return path, b.emit(p)
}

// periodOf truncates t to the archive's granularity.
func periodOf(kind string, t time.Time) *Period {
	t = t.UTC()
	p := &Period{Kind: kind, Year: t.Year()}
	switch kind {
	case "year":
		p.Time = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	case "month":
		p.Month = t.Month()
		p.Time = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		p.Month, p.Day = t.Month(), t.Day()
		p.Time = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return p
}

func archiveKind(r *Route) string {
	return [...]string{"", "year", "month", "day"}[len(r.pattern.vars())]
}

// archive renders pages per year, month or day of a date column.
func (b *buildRun) archive(r *Route) bool {
	s := b.site
	kind := archiveKind(r)
	// Pass 1: count rows per period, reading only the date column.
	counts := map[time.Time]int{}
	s.stats[r.Name].Queries.Add(1)
	rows, err := s.db.QueryContext(b.ctx, "SELECT "+r.Date+" FROM ("+clean(r.Query)+") AS q")
	if err != nil {
		return b.fail(r, r.Path, "", fmt.Errorf("count rows by period: %w", err))
	}
	nulls := 0
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return b.fail(r, r.Path, "", fmt.Errorf("count rows by period: %w", err))
		}
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		if t, ok := asTime(v); ok {
			counts[periodOf(kind, t).Time]++
		} else {
			nulls++
		}
	}
	rows.Close()
	if nulls > 0 {
		if !b.fail(r, r.Path, "", fmt.Errorf("%d rows have a NULL or unreadable %s and are in no archive page", nulls, r.Date)) {
			return false
		}
	}
	order := r.orderBy()
	var (
		cur  *Period
		done = map[time.Time]bool{}
		base string
		ok   = true
	)
	pg := newPaginator(r.PerPage, func(n int, rows []Row) bool {
		total := counts[cur.Time]
		data := &PageData{Rows: rows, Period: cur, Pager: newPager(base, n, max(pageCount(total, r.PerPage), n), total)}
		return b.emit(b.page(r, withPage(base, n), "", rowDeps(r, rows), data, noArgs))
	})
	q := "SELECT * FROM (" + clean(r.Query) + ") AS q ORDER BY " + order
	err = b.stream(r, q, nil, func(row Row) bool {
		t, tok := asTime(row[r.Date])
		if !tok {
			return true
		}
		p := periodOf(kind, t)
		if cur == nil || !p.Time.Equal(cur.Time) {
			if ok = pg.next(); !ok {
				return false
			}
			if done[p.Time] {
				ok = b.fail(r, r.Path, "", fmt.Errorf("rows are not ordered by %s: order_by must sort by the date column first", r.Date))
				return false
			}
			if cur != nil {
				done[cur.Time] = true
			}
			cur = p
			base, _ = r.pattern.fill(func(k string) (any, bool) { return periodValue(t.UTC(), k) })
		}
		ok = pg.add(row)
		return ok
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	return ok && pg.flush()
}
