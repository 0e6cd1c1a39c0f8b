package sqlsite

// Stable pagination (pagination = "stable" on a list route): pages counted
// from the oldest end of the list, each covering a fixed range of the
// order, so that a row added or removed changes the page it is on and no
// other. How it works and when to choose it: docs/incremental.md.
//
// The list's order (order_by, ending with the key) puts the newest rows
// first. The first page, at the route's path, is the *front*: the rows
// before the newest boundary. Every other page k (1 for the oldest, at
// PATH/page/k/) starts at its boundary: the order's values of the first
// row it held when it was made, and holds the rows from there to the next
// boundary. When the front reaches 2 × per_page rows, its older per_page
// rows become a new page, whose boundary is the first of them: the front
// then holds per_page to 2 × per_page − 1 rows. Boundaries are kept with
// the build (the index's value "pages:ROUTE"), by incremental and full
// builds alike; they are made anew (from the oldest row, per_page to a
// page) only when there are none: the first build, a build into a new
// folder, or a route whose per_page or order_by changed.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/bakehq/bake"
)

// Values of Route.Pagination.
const (
	PaginationNumbered = "numbered"
	PaginationStable   = "stable"
)

// stable reports whether r is a list paginated stably.
func (r *Route) stable() bool { return r.Pagination == PaginationStable }

// checkPagination returns what is wrong with r's pagination, or "".
func (r *Route) checkPagination() string {
	switch r.Pagination {
	case "", PaginationNumbered:
		return ""
	case PaginationStable:
	default:
		return fmt.Sprintf("pagination %q: use %q (the default) or %q", r.Pagination, PaginationNumbered, PaginationStable)
	}
	switch {
	case r.Kind != KindList:
		return fmt.Sprintf("pagination = %q is for list routes, not %s routes", PaginationStable, r.Kind)
	case r.PerPage <= 0:
		return fmt.Sprintf("pagination = %q needs per_page (the rows of a page when it is made)", PaginationStable)
	case r.OrderBy == "":
		return fmt.Sprintf("pagination = %q needs order_by, newest first, such as \"published_at DESC, id DESC\"", PaginationStable)
	}
	if _, err := parseTerms(r.OrderBy); err != nil {
		return fmt.Sprintf("pagination = %q: order_by %q: %v", PaginationStable, r.OrderBy, err)
	}
	return ""
}

// sortTerm is one term of a stable list's order: a column of its query.
type sortTerm struct {
	col  string
	desc bool
}

// parseTerms reads an order_by of plain columns, each with ASC or DESC.
func parseTerms(order string) ([]sortTerm, error) {
	var terms []sortTerm
	for _, t := range splitTop(order, ',') {
		f := strings.Fields(t)
		if len(f) == 0 || len(f) > 2 {
			return nil, fmt.Errorf("%q is not a column with ASC or DESC (a stable list compares its rows to its page boundaries by column)", strings.TrimSpace(t))
		}
		col := f[0]
		if i := strings.LastIndexByte(col, '.'); i >= 0 {
			col = col[i+1:]
		}
		col = strings.Trim(col, `"`)
		if !isIdent(col) {
			return nil, fmt.Errorf("%q is not a column with ASC or DESC (a stable list compares its rows to its page boundaries by column)", strings.TrimSpace(t))
		}
		st := sortTerm{col: col}
		if len(f) == 2 {
			switch strings.ToUpper(f[1]) {
			case "ASC":
			case "DESC":
				st.desc = true
			default:
				return nil, fmt.Errorf("%q: %s is not ASC or DESC", strings.TrimSpace(t), f[1])
			}
		}
		terms = append(terms, st)
	}
	return terms, nil
}

// stableTerms returns the terms of r's order, the key appended (orderBy).
func (r *Route) stableTerms() []sortTerm {
	terms, _ := parseTerms(r.orderBy()) // checked by checkPagination
	return terms
}

// stableSig is what a list's boundaries were made for: other terms or
// another per_page make them anew.
func (r *Route) stableSig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "per_page=%d", r.PerPage)
	for _, t := range r.stableTerms() {
		fmt.Fprintf(&b, " %s:%t", t.col, t.desc)
	}
	return b.String()
}

// stableOrder compares rows and boundaries in the order of a stable list.
type stableOrder struct {
	terms   []sortTerm
	dialect string
}

func (r *Route) stableOrder(dialect string) stableOrder {
	return stableOrder{terms: r.stableTerms(), dialect: dialect}
}

// tuple returns the values of row that the order compares.
func (o stableOrder) tuple(row Row) []any {
	t := make([]any, len(o.terms))
	for i, term := range o.terms {
		t[i] = normalize(row[term.col])
	}
	return t
}

// compare returns a negative number when a comes before b in the list
// (it is newer), 0 when they are equal, and a positive number otherwise.
func (o stableOrder) compare(a, b []any) int {
	for i, t := range o.terms {
		c := compareValues(a[i], b[i], o.dialect)
		if t.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// pageOf returns the page of the list that holds a row with this tuple:
// the front (st.pages()) when it comes before the newest boundary.
func (o stableOrder) pageOf(st *stableState, tuple []any) int {
	// Bounds are oldest first: bound k-1 starts page k, and comes after
	// bound k in the list. The row is on the oldest page whose bound it is
	// at or after.
	n := len(st.bounds)
	i, _ := slices.BinarySearchFunc(st.bounds, tuple, func(b, t []any) int {
		// Search for the first bound (oldest first) that the row is at
		// or after: bounds the row comes before are "less".
		if o.compare(t, b) < 0 {
			return -1
		}
		return 1
	})
	if i >= n {
		return n + 1 // the front
	}
	return i + 1
}

// stablePath returns the path of page n of a stable list of pages pages.
func stablePath(base string, n, pages int) string {
	if n >= pages {
		return base
	}
	return base + "page/" + strconv.Itoa(n) + "/"
}

// stableBase returns the first page of the stable list that path is a
// page of (PATH/page/N/ is a page of PATH/, and so is PATH/ itself).
func stableBase(path string) string {
	if i := strings.LastIndex(strings.TrimSuffix(path, "/"), "/page/"); i >= 0 && strings.HasSuffix(path, "/") {
		if n, err := strconv.Atoi(path[i+len("/page/") : len(path)-1]); err == nil && n >= 1 {
			return path[:i+1]
		}
	}
	return path
}

// listBase returns the first page of the list of r that path is a page of.
func (r *Route) listBase(path string) string {
	if r.stable() {
		return stableBase(path)
	}
	base, _ := listBase(path)
	return base
}

// stablePage returns the page number of path in a stable list of pages
// pages whose front is base; 0 when path is not one of its pages.
func stablePage(base, path string, pages int) int {
	if path == base {
		return pages
	}
	rest, ok := strings.CutPrefix(path, base+"page/")
	if !ok || !strings.HasSuffix(rest, "/") {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "/"))
	if err != nil || n < 1 || n >= pages {
		return 0
	}
	return n
}

// newStablePager returns the pager of page n of a stable list: Number
// counts from the oldest page (1); First is the front (the newest rows),
// Last the oldest page; Prev is the newer neighbour, Next the older.
func newStablePager(base string, n, pages, items int) *Pager {
	p := &Pager{Number: n, TotalPages: pages, TotalItems: items, Total: pages, Items: items, base: base, stable: true}
	p.First, p.Last = p.URL(pages), p.URL(1)
	p.Prev, p.Next = p.URL(n+1), p.URL(n-1)
	return p
}

// splits returns how many pages of per rows a front of n rows gives up:
// it keeps per to 2 × per − 1 (all of them when fewer than 2 × per).
func splits(n, per int) int {
	if n < 2*per {
		return 0
	}
	return (n - per) / per
}

// stableCutter cuts the rows of a stable list, streamed in the list's
// order, into its pages: the front first, then the pages it gives up, then
// the older pages by their boundaries, empty ones included.
type stableCutter struct {
	r     *Route
	order stableOrder
	st    *stableState // updated with the boundaries of new pages
	fresh bool         // no boundaries kept: cut from the oldest row
	total int
	emit  func(n, pages int, rows []Row) bool

	old   int   // pages before the front split
	pages int   // pages after (0 until the front is known)
	front []Row // rows of the front (kept boundaries), until it is known
	cur   int   // older page being filled
	buf   []Row
	seen  int
	err   error
}

func newStableCutter(r *Route, order stableOrder, st *stableState, fresh bool, total int, emit func(n, pages int, rows []Row) bool) *stableCutter {
	c := &stableCutter{r: r, order: order, st: st, fresh: fresh, total: total, emit: emit, old: st.pages()}
	st.Total = total
	if fresh {
		// The whole list is the front: its number of rows is known.
		c.pages = 1 + splits(total, r.PerPage)
		c.cur = c.pages
		st.bounds = make([][]any, c.pages-1)
	}
	return c
}

func (c *stableCutter) add(row Row) bool {
	c.seen++
	per := c.r.PerPage
	if c.fresh {
		// The front holds the first total − (pages−1) × per rows; every
		// page after it per rows.
		nfront := c.total - (c.pages-1)*per
		if c.cur < c.pages && len(c.buf) == 0 && c.cur >= 1 {
			c.st.bounds[c.cur-1] = c.order.tuple(row)
		}
		c.buf = append(c.buf, row)
		full := per
		if c.cur == c.pages {
			full = nfront
		}
		if len(c.buf) >= full && c.cur > 1 {
			if !c.emit(c.cur, c.pages, c.buf) {
				return false
			}
			c.buf = nil
			c.cur--
		}
		return true
	}
	if c.pages == 0 {
		if c.order.pageOf(c.st, c.order.tuple(row)) == c.old {
			c.front = append(c.front, row)
			return true
		}
		if !c.frontDone() {
			return false
		}
	}
	n := c.order.pageOf(c.st, c.order.tuple(row))
	switch {
	case n > c.cur:
		c.err = fmt.Errorf("rows come from the database in an order bake does not reproduce: a row of page %d after one of page %d (stable lists compare text byte by byte: give text order_by columns COLLATE \"C\", or order by dates and numbers)", n, c.cur)
		return false
	case n < c.cur:
		if !c.emit(c.cur, c.pages, c.buf) {
			return false
		}
		c.buf = nil
		for c.cur--; c.cur > n; c.cur-- {
			if !c.emit(c.cur, c.pages, nil) {
				return false
			}
		}
	}
	c.buf = append(c.buf, row)
	return true
}

// frontDone makes the pages of the front, now that its rows are known:
// while it holds 2 × per_page rows or more, its older per_page rows become
// a new page.
func (c *stableCutter) frontDone() bool {
	per := c.r.PerPage
	s := splits(len(c.front), per)
	c.pages = c.old + s
	c.cur = c.old - 1
	nfront := len(c.front) - s*per
	if !c.emit(c.pages, c.pages, c.front[:nfront]) {
		return false
	}
	added := make([][]any, s)
	for i := range s {
		rows := c.front[nfront+i*per : nfront+(i+1)*per]
		n := c.pages - 1 - i
		added[n-c.old] = c.order.tuple(rows[0])
		if !c.emit(n, c.pages, rows) {
			return false
		}
	}
	c.st.bounds = append(c.st.bounds, added...)
	c.front = nil
	return true
}

// finish makes the pages not made yet, once every row has been added.
func (c *stableCutter) finish() bool {
	if c.err != nil {
		return false
	}
	if c.fresh {
		if c.seen != c.total {
			c.err = fmt.Errorf("the list had %d rows when counted and %d when read: rows changed during the build; build again", c.total, c.seen)
			return false
		}
		for ; c.cur >= 1; c.cur-- {
			if !c.emit(c.cur, c.pages, c.buf) {
				return false
			}
			c.buf = nil
		}
		return true
	}
	if c.pages == 0 && !c.frontDone() {
		return false
	}
	for ; c.cur >= 1; c.cur-- {
		if !c.emit(c.cur, c.pages, c.buf) {
			return false
		}
		c.buf = nil
	}
	return true
}

// stableRoute returns what the last build kept of stable list route r,
// read once a pass; its lists are changed as this pass makes them.
func (b *buildRun) stableRoute(r *Route) (*stableRoute, error) {
	if sr, ok := b.stable[r.Name]; ok {
		return sr, nil
	}
	prev := b.prev
	if prev == nil {
		prev = bake.PreviousFrom(b.ctx)
	}
	v := ""
	if prev != nil {
		var err error
		if v, err = prev.Value(b.ctx, stableValueName(r.Name)); err != nil {
			return nil, err
		}
	}
	sr := decodeStable(v, r.stableSig())
	sr.kept = maps.Clone(sr.Lists)
	if b.stable == nil {
		b.stable = map[string]*stableRoute{}
	}
	b.stable[r.Name] = sr
	return sr, nil
}

// stableList returns a copy of the kept state of the list of stable route
// r whose first page is base, and whether it is fresh: none was kept, so
// the list is cut anew from its oldest row.
func (b *buildRun) stableList(r *Route, base string) (*stableState, bool, error) {
	sr, err := b.stableRoute(r)
	if err != nil {
		return nil, false, err
	}
	if st := sr.kept[base]; st != nil {
		if st.decode() == nil {
			return st.clone(), false, nil
		}
		delete(sr.kept, base) // made anew
		delete(sr.Lists, base)
	}
	return &stableState{}, true, nil
}

// keepStable records the state of the list of stable route r whose first
// page is base (none: nil) after this pass, for the index.
func (b *buildRun) keepStable(r *Route, base string, st *stableState) {
	sr := b.stable[r.Name]
	if st == nil {
		delete(sr.Lists, base)
	} else {
		sr.Lists[base] = st
	}
}

// keepStableState writes what this pass kept of its stable lists into
// state, the values the index keeps. It runs once the pages are made:
// pages render while lists are cut, and they read state (routeSalt).
func (b *buildRun) keepStableState(state map[string]string) {
	for name, sr := range b.stable {
		state[stableValueName(name)] = sr.encode()
	}
}

// stableWhole renders a stable list: every page, each with the rows of its
// range (see the top of this file).
func (b *buildRun) stableWhole(r *Route) bool {
	s := b.site
	var total int
	s.stats[r.Name].Queries.Add(1)
	if err := s.db.QueryRowContext(b.ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q").Scan(&total); err != nil {
		return b.fail(r, r.Path, "", fmt.Errorf("count rows: %w", err))
	}
	st, fresh, err := b.stableList(r, r.Path)
	if err != nil {
		return b.fail(r, r.Path, "", err)
	}
	cut := newStableCutter(r, r.stableOrder(s.db.dialect), st, fresh, total, func(n, pages int, rows []Row) bool {
		data := &PageData{Rows: rows, Pager: newStablePager(r.Path, n, pages, total)}
		return b.emit(b.page(r, stablePath(r.Path, n, pages), "", rowDeps(r, rows), data, noArgs))
	})
	ok := true
	if err := b.stream(r, ordered(r, "", ""), nil, func(row Row) bool {
		ok = cut.add(row)
		return ok
	}); err != nil {
		return b.fail(r, r.Path, "", err)
	}
	if ok {
		ok = cut.finish()
	}
	if cut.err != nil {
		return b.fail(r, r.Path, "", cut.err)
	}
	if ok {
		b.keepStable(r, r.Path, st)
	}
	return ok
}

// listPaginator cuts the rows of a grouped list, streamed group by group,
// into pages: a paginator (numbered) or stableGroups.
type listPaginator interface {
	add(row Row) bool
	next() bool  // ends a group
	flush() bool // ends the last
}

// stableGroups cuts the groups of a grouped stable list into pages, each
// group by its own kept boundaries.
type stableGroups struct {
	b     *buildRun
	r     *Route
	order stableOrder
	group func() (base string, total int) // the group being streamed
	emit  func(n, pages int, rows []Row) bool

	cut  *stableCutter
	base string
	st   *stableState
}

func (b *buildRun) newStableGroups(r *Route, group func() (string, int), emit func(n, pages int, rows []Row) bool) *stableGroups {
	return &stableGroups{b: b, r: r, order: r.stableOrder(b.site.db.dialect), group: group, emit: emit}
}

func (g *stableGroups) add(row Row) bool {
	if g.cut == nil {
		base, total := g.group()
		st, fresh, err := g.b.stableList(g.r, base)
		if err != nil {
			return g.b.fail(g.r, base, "", err)
		}
		g.base, g.st = base, st
		g.cut = newStableCutter(g.r, g.order, st, fresh, total, g.emit)
	}
	return g.cut.add(row)
}

func (g *stableGroups) next() bool { return g.flush() }

func (g *stableGroups) flush() bool {
	if g.cut == nil {
		return true
	}
	cut := g.cut
	g.cut = nil
	ok := cut.finish()
	if cut.err != nil {
		return g.b.fail(g.r, g.base, "", cut.err)
	}
	if ok {
		g.b.keepStable(g.r, g.base, g.st)
	}
	return ok
}

// forgetGroups drops the state of the groups of stable route r with these
// values (every group when values is nil) from what this pass leaves,
// before they are made again: a group with no rows left keeps none.
func (b *buildRun) forgetGroups(r *Route, values []any) error {
	sr, err := b.stableRoute(r)
	if err != nil {
		return err
	}
	if values == nil {
		clear(sr.Lists)
	}
	for _, v := range values {
		if base, err := r.pattern.fill(func(string) (any, bool) { return v, true }); err == nil {
			delete(sr.Lists, base)
		}
	}
	return b.forgetBases(r, nil)
}

// forgetBases drops the state of the lists of stable route r whose first
// pages are bases from what this pass leaves (groups made again, or gone).
func (b *buildRun) forgetBases(r *Route, bases []string) error {
	sr, err := b.stableRoute(r)
	if err != nil {
		return err
	}
	for _, base := range bases {
		delete(sr.Lists, base)
	}
	return nil
}
