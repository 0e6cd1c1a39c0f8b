package sqlsite

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/bakehq/bake"
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

// ordered wraps a route's query with its order_by.
func ordered(r *Route, first string) string {
	q := clean(r.Query)
	order := r.OrderBy
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

// list renders a list route, paginated, optionally one list per group.
func (b *buildRun) list(r *Route) bool {
	s := b.site
	per := r.PerPage
	if r.GroupBy == "" {
		var total int
		s.stats[r.Name].Queries.Add(1)
		if err := s.db.QueryRowContext(b.ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q").Scan(&total); err != nil {
			return b.fail(r, r.Path, "", fmt.Errorf("count rows: %w", err))
		}
		pages := 1
		if per > 0 {
			pages = max(1, (total+per-1)/per)
		}
		n, buf := 1, make([]Row, 0, min(max(per, 1), 1024))
		flush := func() bool {
			path := withPage(r.Path, n)
			data := &PageData{Rows: buf, Pager: newPager(r.Path, n, max(pages, n), total)}
			ok := b.emit(b.page(r, path, "", rowDeps(r, buf), data, noArgs))
			n++
			buf = make([]Row, 0, cap(buf))
			return ok
		}
		ok := true
		err := b.stream(r, ordered(r, ""), nil, func(row Row) bool {
			buf = append(buf, row)
			if per > 0 && len(buf) == per {
				ok = flush()
			}
			return ok
		})
		if err != nil {
			return b.fail(r, r.Path, "", err)
		}
		if ok && (len(buf) > 0 || n == 1) {
			ok = flush()
		}
		return ok
	}

	// Grouped: count each group first, then stream rows ordered by group.
	counts := map[string]int{}
	s.stats[r.Name].Queries.Add(1)
	rows, err := s.db.QueryContext(b.ctx, "SELECT "+r.GroupBy+", COUNT(*) FROM ("+clean(r.Query)+") AS q GROUP BY "+r.GroupBy)
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
		n       int
		buf     []Row
		nulls   int
		ok      = true
	)
	flush := func() bool {
		if len(buf) == 0 {
			return true
		}
		if badBase != nil {
			ok := b.fail(r, "", fmt.Sprintf("%s=%v", r.GroupBy, group), badBase)
			buf = buf[:0]
			return ok
		}
		total := counts[gkey]
		pages := 1
		if per > 0 {
			pages = max(1, (total+per-1)/per)
		}
		path := withPage(base, n)
		data := &PageData{Rows: buf, Group: group, Pager: newPager(base, n, max(pages, n), total)}
		g := group
		args := func(k string) (any, bool) { return g, k == r.GroupBy }
		res := b.emit(b.page(r, path, "", rowDeps(r, buf), data, args))
		n++
		buf = make([]Row, 0, cap(buf))
		return res
	}
	err = b.stream(r, ordered(r, r.GroupBy), nil, func(row Row) bool {
		g := row[r.GroupBy]
		if g == nil {
			nulls++
			return true
		}
		if k := keyString(g); k != gkey || n == 0 {
			if ok = flush(); !ok {
				return false
			}
			group, gkey, n = g, k, 1
			base, badBase = r.pattern.fill(func(string) (any, bool) { return g, true })
			if badBase == nil {
				_, badBase = bake.FileName(base)
			}
			buf = make([]Row, 0, min(max(per, 1), 1024))
		}
		buf = append(buf, row)
		if per > 0 && len(buf) == per {
			ok = flush()
		}
		return ok
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	if ok {
		ok = flush()
	}
	if ok && nulls > 0 {
		ok = b.fail(r, r.Path, "", fmt.Errorf("%d rows have NULL in group_by column %s and are in no list; filter them out in the query", nulls, r.GroupBy))
	}
	return ok
}

// detail renders one page per row.
func (b *buildRun) detail(r *Route) bool {
	var extra []bake.Dep
	for _, t := range tables(r.Query) {
		if t != r.Table {
			extra = append(extra, bake.TableDep(t))
		}
	}
	ok := true
	query, args := ordered(r, ""), []any(nil)
	if b.narrow() {
		// Live preview: read only the row whose columns make the path.
		m := r.matcher()
		vals := m.FindStringSubmatch(b.target)
		if vals == nil {
			return true
		}
		var conds []string
		for i, name := range m.SubexpNames() {
			if name != "" {
				args = append(args, vals[i])
				conds = append(conds, "q."+name+" = "+b.site.db.placeholder(len(args)))
			}
		}
		query = "SELECT * FROM (" + clean(r.Query) + ") AS q WHERE " + strings.Join(conds, " AND ")
	}
	err := b.stream(r, query, args, func(row Row) bool {
		key := keyString(row[r.Key])
		path, err := r.pattern.fill(func(k string) (any, bool) { v, ok := row[k]; return v, ok })
		if err == nil {
			_, err = bake.FileName(path)
		}
		if err != nil {
			ok = b.fail(r, "", key, err)
			return ok
		}
		deps := append([]bake.Dep{bake.RowDep(r.Table, key)}, extra...)
		p := b.page(r, path, key, deps, &PageData{Row: row}, func(k string) (any, bool) { v, ok := row[k]; return v, ok })
		if r.LastMod != "" {
			if t, tok := asTime(row[r.LastMod]); tok {
				p.LastMod = t.UTC()
			}
		}
		ok = b.emit(p)
		return ok
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	return ok
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
	order := r.OrderBy
	if order == "" {
		order = r.Date + " DESC"
	}
	var (
		cur  *Period
		done = map[time.Time]bool{}
		base string
		n    int
		buf  []Row
		ok   = true
		per  = r.PerPage
	)
	flush := func() bool {
		if cur == nil || len(buf) == 0 {
			return true
		}
		total := counts[cur.Time]
		pages := 1
		if per > 0 {
			pages = max(1, (total+per-1)/per)
		}
		path := withPage(base, n)
		data := &PageData{Rows: buf, Period: cur, Pager: newPager(base, n, max(pages, n), total)}
		res := b.emit(b.page(r, path, "", rowDeps(r, buf), data, noArgs))
		n++
		buf = make([]Row, 0, cap(buf))
		return res
	}
	q := "SELECT * FROM (" + clean(r.Query) + ") AS q ORDER BY " + order
	err = b.stream(r, q, nil, func(row Row) bool {
		t, tok := asTime(row[r.Date])
		if !tok {
			return true
		}
		p := periodOf(kind, t)
		if cur == nil || !p.Time.Equal(cur.Time) {
			if ok = flush(); !ok {
				return false
			}
			if done[p.Time] {
				ok = b.fail(r, r.Path, "", fmt.Errorf("rows are not ordered by %s: order_by must sort by the date column first", r.Date))
				return false
			}
			if cur != nil {
				done[cur.Time] = true
			}
			cur, n = p, 1
			base, _ = r.pattern.fill(func(k string) (any, bool) { return periodValue(t.UTC(), k) })
			buf = make([]Row, 0, min(max(per, 1), 1024))
		}
		buf = append(buf, row)
		if per > 0 && len(buf) == per {
			ok = flush()
		}
		return ok
	})
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	if ok {
		ok = flush()
	}
	return ok
}

var _ = sql.ErrNoRows
