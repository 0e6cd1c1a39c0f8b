package sqlsite

// Spliced list pages. When a row joins, leaves or moves within a numbered
// list, every later page shows the same rows shifted by one: the page is
// its last bytes but for one row in and one row out. A page whose template
// writes its rows through one cacheEach records where each row's bytes are
// (bake.RowSpans, kept in its index entry); an update then makes the
// shifted pages from the bytes of the last build, without their query or
// template (spliceList).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template/parse"
	"unsafe"

	"github.com/bakehq/bake"
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// rowsFragment returns the name of the fragment that template name
// (executed with a PageData) writes .Rows through, when .Rows is read in
// no other way: only as the list of {{cacheEach "NAME" .Rows}} (directly
// or in a template called with .Rows as its dot), and the PageData itself
// is given to no function. The bytes a page writes for its rows are then
// the fragments of its rows, one after the other, and the rest of the
// page depends on nothing of them. "" otherwise.
func rowsFragment(t *template.Template, name string) string {
	const (
		kOther = iota
		kPage
		kRows
	)
	frag := ""
	ok := true
	type visitKey struct {
		name string
		dot  int
	}
	seen := map[visitKey]bool{}
	var visit func(name string, dot int)
	visit = func(name string, dot int) {
		if !ok || dot == kOther || seen[visitKey{name, dot}] {
			return
		}
		seen[visitKey{name, dot}] = true
		x := t.Lookup(name)
		if x == nil || x.Tree == nil {
			return
		}
		vars := map[string]int{"$": dot}
		// field returns what a chain of fields from k ends on.
		field := func(k int, idents []string) int {
			for _, id := range idents {
				switch {
				case k == kPage && id == "Rows":
					k = kRows
				case k == kRows:
					ok = false // a field of the rows
					return kOther
				default:
					k = kOther
				}
			}
			return k
		}
		var pipe func(p *parse.PipeNode, dot int) int
		var arg func(n parse.Node, dot int) int
		arg = func(n parse.Node, dot int) int {
			switch n := n.(type) {
			case *parse.DotNode:
				return dot
			case *parse.FieldNode:
				return field(dot, n.Ident)
			case *parse.VariableNode:
				k, known := vars[n.Ident[0]]
				if !known {
					k = kOther
				}
				return field(k, n.Ident[1:])
			case *parse.ChainNode:
				k := arg(n.Node, dot)
				if k != kOther {
					ok = false
				}
				return kOther
			case *parse.PipeNode:
				return pipe(n, dot)
			}
			return kOther
		}
		// pipe returns what a pipeline's value holds; one that hands the
		// page or its rows to a function spoils the analysis.
		pipe = func(p *parse.PipeNode, dot int) int {
			if p == nil {
				return kOther
			}
			k := kOther
			for i, c := range p.Cmds {
				if len(c.Args) == 0 {
					continue
				}
				if id, isFunc := c.Args[0].(*parse.IdentifierNode); isFunc {
					if strings.HasPrefix(id.Ident, "_html_template_") && i > 0 && k == kOther {
						continue // an escaper html/template added
					}
					if i > 0 && k != kOther {
						ok = false // the page or rows piped into a function
					}
					for _, a := range c.Args[1:] {
						if arg(a, dot) != kOther {
							ok = false
						}
					}
					k = kOther
					continue
				}
				if len(c.Args) > 1 || i > 0 {
					ok = false // a method call, or a value piped into a value
				}
				k = arg(c.Args[0], dot)
			}
			return k
		}
		// cacheEachRows reports whether p is {{cacheEach "NAME" ROWS}}
		// (with escapers after it), noting NAME.
		cacheEachRows := func(p *parse.PipeNode, dot int) bool {
			if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 || len(p.Cmds[0].Args) != 3 {
				return false
			}
			c := p.Cmds[0]
			id, isID := c.Args[0].(*parse.IdentifierNode)
			s, isStr := c.Args[1].(*parse.StringNode)
			if !isID || id.Ident != "cacheEach" || !isStr || arg(c.Args[2], dot) != kRows {
				return false
			}
			// In text, html/template writes template.HTML as it is; in an
			// attribute or a script it escapes it.
			for _, e := range p.Cmds[1:] {
				if id, isID := e.Args[0].(*parse.IdentifierNode); !isID || id.Ident != "_html_template_htmlescaper" || len(e.Args) != 1 {
					ok = false
					return true
				}
			}
			if frag != "" && frag != s.Text {
				ok = false // two fragments
			}
			frag = s.Text
			return true
		}
		declare := func(p *parse.PipeNode, k int) {
			if p == nil {
				return
			}
			if p.IsAssign && len(p.Decl) > 0 {
				ok = false // $x = …: the kind of an outer variable changes
			}
			for _, v := range p.Decl {
				if k == kRows {
					ok = false
				}
				vars[v.Ident[0]] = k
			}
		}
		// scoped walks a body: what it declares ends with it.
		var walk func(n parse.Node, dot int)
		scoped := func(n parse.Node, dot int) {
			saved := maps.Clone(vars)
			walk(n, dot)
			vars = saved
		}
		walk = func(n parse.Node, dot int) {
			if !ok {
				return
			}
			switch n := n.(type) {
			case *parse.ListNode:
				if n == nil {
					return
				}
				for _, c := range n.Nodes {
					walk(c, dot)
				}
			case *parse.ActionNode:
				if cacheEachRows(n.Pipe, dot) {
					return
				}
				k := pipe(n.Pipe, dot)
				if len(n.Pipe.Decl) == 0 && k != kOther {
					ok = false // the page or its rows printed
				}
				declare(n.Pipe, k)
			case *parse.IfNode:
				saved := maps.Clone(vars)
				if k := pipe(n.Pipe, dot); k == kRows {
					ok = false
				} else {
					declare(n.Pipe, k)
				}
				scoped(n.List, dot)
				scoped(n.ElseList, dot)
				vars = saved
			case *parse.WithNode:
				saved := maps.Clone(vars)
				k := pipe(n.Pipe, dot)
				if k == kRows {
					ok = false
				}
				declare(n.Pipe, k)
				scoped(n.List, k)
				scoped(n.ElseList, dot)
				vars = saved
			case *parse.RangeNode:
				saved := maps.Clone(vars)
				if pipe(n.Pipe, dot) != kOther {
					ok = false
				}
				if n.Pipe != nil {
					if n.Pipe.IsAssign && len(n.Pipe.Decl) > 0 {
						ok = false
					}
					for _, v := range n.Pipe.Decl {
						vars[v.Ident[0]] = kOther
					}
				}
				scoped(n.List, kOther)
				scoped(n.ElseList, dot)
				vars = saved
			case *parse.TemplateNode:
				k := kOther
				if n.Pipe != nil {
					k = pipe(n.Pipe, dot)
				}
				visit(n.Name, k)
			}
		}
		walk(x.Tree.Root, dot)
	}
	visit(name, kPage)
	if !ok {
		return ""
	}
	return frag
}

// rowsRecorder notes what the one cacheEach of a page's rows wrote.
type rowsRecorder struct {
	calls int
	out   string // the fragments, joined
	lens  []int
}

// recorders maps the first row of a page being rendered to its recorder:
// cacheEach is given the page's .Rows, the same slice.
var recorders sync.Map // *Row → *rowsRecorder

func recorderOf(rows []Row) *rowsRecorder {
	if len(rows) == 0 {
		return nil
	}
	if v, ok := recorders.Load(unsafe.SliceData(rows)); ok {
		return v.(*rowsRecorder)
	}
	return nil
}

// spans returns where the rows recorded by rec are in out, the bytes of
// the page, keyed by keys; nil when the rows were not written once, as
// they are, in one place of out.
func (rec *rowsRecorder) spans(out []byte, keys []string) *bake.RowSpans {
	if rec.calls != 1 || rec.out == "" || len(rec.lens) != len(keys) {
		return nil
	}
	at := bytes.Index(out, unsafe.Slice(unsafe.StringData(rec.out), len(rec.out)))
	if at < 0 || bytes.Contains(out[at+1:], unsafe.Slice(unsafe.StringData(rec.out), len(rec.out))) {
		return nil
	}
	// No character controlFilter replaces may span the place where a row
	// meets what is before it, or the next row, or what follows: spliced
	// next to others, its bytes must stay as they are.
	if heldTail(out[:at]) > 0 {
		return nil
	}
	off := 0
	for _, l := range rec.lens {
		if heldTail(rec.out[off:off+l]) > 0 {
			return nil
		}
		off += l
	}
	return &bake.RowSpans{At: at, Lens: rec.lens, Keys: keys}
}

// filtered reports whether controlFilter could change b, a row's bytes
// written among others: a character it replaces, or the start of one at
// its end.
func filtered(b []byte) bool {
	if hasControlRef(b) || heldTail(b) > 0 {
		return true
	}
	for i, c := range b {
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r', c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f:
			return true
		}
	}
	return false
}

// spliceable reports whether the pages of route r record where their rows
// are, and an update may splice them (spliceList): a numbered list, grouped
// or not, whose rows are made each from its own table row, in a total
// order, and whose template writes them through one cacheEach and shows
// neither their number nor anything read by a query of the route's own.
func (s *Site) spliceable(r *Route) bool {
	if s.noSplice.Load() {
		return false
	}
	if v, ok := s.splice.Load(r.Name); ok {
		return v.(bool)
	}
	rt := s.tmpl.routes[r.Template]
	ok := r.Kind == KindList && r.PerPage > 0 && !r.stable() && len(r.Queries) == 0 &&
		r.keyCol && rt != nil && rt.rowsFrag != "" && !rt.showsItems() &&
		totalOrder(r.orderBy(), r.Key) && analyze(r).rowLocal && !spliceOff
	s.splice.Store(r.Name, ok)
	return ok
}

// MinifiesHTML tells the site that its builds minify HTML pages: an update
// cannot splice them then (the rows are no longer where they were
// written), and a list page keeps its digest. Call it before a build.
func (s *Site) MinifiesHTML(on bool) { s.noSplice.Store(on) }

// spliceOff turns splicing off (BAKE_SPLICE=0), to compare.
var spliceOff = os.Getenv("BAKE_SPLICE") == "0"

// spliceList updates numbered list r after the rows of w.moved joined,
// left or moved within it (and those of w.dirty changed content), when
// its pages can be made from the bytes of the last build: each keeps its
// place in the list and its frame (the list has as many pages as before,
// so every pager is the same), and shows the rows of the last build in
// the new order, every row that did not change written as it was, on its
// page or a page next to it. Only the pages whose rows changed are made:
// the bytes before and after the rows from the page's last file, each row
// from the file that showed it, the rows that changed rendered. It reports
// false, having yielded nothing, when the list cannot be spliced (then it
// is rerun: listFrom); ok is false when the update failed.
func (u *updateRun) spliceList(r *Route, w *routeWork) (done, ok bool) {
	return u.spliceOne(r, w, spliceTarget{base: r.Path}, w.moved)
}

// spliceTarget is a list spliceList makes: a route's, or one group's of a
// grouped route.
type spliceTarget struct {
	base    string // the path of its first page
	group   any    // the group's value, for a grouped list
	grouped bool
}

// spliceOne is spliceList for the list t of route r, after the rows of
// moved joined, left or moved within it.
func (u *updateRun) spliceOne(r *Route, w *routeWork, t spliceTarget, moved map[string]string) (done, ok bool) {
	s := u.site
	if !s.spliceable(r) {
		return false, true
	}
	pl, why, err := u.planSplice(r, w, t, moved)
	if err != nil {
		u.fail(&bake.Error{Route: r.Name, Err: err})
		return true, false
	}
	if pl == nil {
		s.stats[r.Name].ListSpliceDeclined.Add(1)
		slog.Debug("list pages rendered, not spliced", "route", r.Name, "list", t.base, "why", why)
		return false, true
	}
	return true, u.emitSplice(r, pl)
}

// oldListPage is a page of a list as the last build made it.
type oldListPage struct {
	path  string
	size  int64
	spans *bake.RowSpans
}

// splicePlan is what spliceList makes of a list.
type splicePlan struct {
	base  string         // the path of the list's first page
	old   []*oldListPage // by page number, from 1
	pages [][]spliceRow  // the rows of the pages to make, by page number; nil: kept
	frag  string         // the fragment the rows are written through
}

// spliceRow is one row of a page made by spliceList: the bytes of a row
// that changed, or where the last build wrote it.
type spliceRow struct {
	key       string
	fresh     []byte
	page, idx int // in old, when fresh is nil
}

// planSplice returns the plan of spliceList, or nil when the list cannot
// be spliced.
func (u *updateRun) planSplice(r *Route, w *routeWork, t spliceTarget, moved map[string]string) (pl *splicePlan, why string, err error) {
	ctx := u.b.ctx
	s := u.site
	entries, err := u.rowSpans(r, t.base)
	if err != nil {
		return nil, "", err
	}
	n := len(entries)
	if n == 0 {
		return nil, "no pages", nil
	}
	pl = &splicePlan{base: t.base, old: make([]*oldListPage, n+1), pages: make([][]spliceRow, n+1), frag: s.tmpl.routes[r.Template].rowsFrag}
	for _, e := range entries {
		base, num := listBase(e.Path)
		if base != t.base || num > n || pl.old[num] != nil {
			return nil, "a page path out of place", nil
		}
		if e.Rows == nil || len(e.Rows.Keys) != len(e.Rows.Lens) || len(e.Rows.Keys) == 0 ||
			int64(e.Rows.At+e.Rows.Len()) > e.Size {
			return nil, "a page without row spans", nil // not recorded (an older build, minified pages) or not as expected
		}
		pl.old[num] = &oldListPage{path: e.Path, size: e.Size, spans: e.Rows}
	}
	// The list as it was: every page but the last full. The files must be
	// what the index says.
	if !u.filesTrusted() {
		return nil, "an earlier update did not finish", nil
	}
	// The files must be here (a distributed update's folder holds only
	// the index).
	if data, err := u.prev.ReadFile(ctx, pl.old[1].path); err != nil || int64(len(data)) != pl.old[1].size {
		return nil, "the last build's files are not here", nil
	}
	seq := make([]spliceRow, 0, n*r.PerPage)
	seen := make(map[string]struct{}, n*r.PerPage)
	for i := 1; i <= n; i++ {
		o := pl.old[i]
		if o == nil || (i < n && len(o.spans.Keys) != r.PerPage) || len(o.spans.Keys) > r.PerPage {
			return nil, "pages not full", nil
		}
		for j, k := range o.spans.Keys {
			if _, dup := seen[k]; dup || k == "NULL" {
				return nil, "a key twice, or NULL", nil // rows that one key does not tell apart
			}
			seen[k] = struct{}{}
			seq = append(seq, spliceRow{key: k, page: i, idx: j})
		}
	}
	// The rows that changed, as they are now, in the list's order.
	changed := map[string]bool{}
	for k := range moved {
		changed[k] = true
	}
	for k := range w.dirty {
		changed[k] = true
	}
	if len(changed) == 0 || len(changed) > keyBatch {
		return nil, "too many changes", nil
	}
	db := s.db
	// where returns the WHERE clause and arguments of a query of the rows
	// of the list with these keys.
	where := func(keys []string) (string, []any) {
		if !t.grouped {
			return " WHERE q." + r.Key + db.in(len(keys)), keyArgs(keys)
		}
		return " WHERE q." + r.GroupBy + " = " + db.placeholder(1) + " AND q." + r.Key + db.inAt(2, len(keys)), append([]any{t.group}, keyArgs(keys)...)
	}
	keys := slices.Sorted(maps.Keys(changed))
	var fresh []Row
	clause, args := where(keys)
	if err := u.b.stream(r, ordered(r, "", clause), args, func(row Row) bool {
		fresh = append(fresh, row)
		return true
	}); err != nil {
		return nil, "", fmt.Errorf("read the rows that changed: %w", err)
	}
	freshKeys := make(map[string]bool, len(fresh))
	for _, row := range fresh {
		switch row[r.Key].(type) {
		case int64, string, []byte:
		default:
			// A date or a float as a key reads back from its text
			// form only by luck.
			return nil, "a key neither a number nor text", nil
		}
		k := keyString(row[r.Key])
		if freshKeys[k] {
			return nil, "a key twice, or NULL", nil
		}
		freshKeys[k] = true
	}
	// The rows that did not change keep their order: place each of those
	// that did among them.
	rest := make([]spliceRow, 0, len(seq))
	for _, row := range seq {
		if !changed[row.key] {
			rest = append(rest, row)
		}
	}
	if pageCount(len(rest)+len(fresh), r.PerPage) != n {
		return nil, "the number of pages changed", nil // the pagers change: every page is made again
	}
	// The list must hold those rows and no other: a changed row its key
	// did not find again would be taken for a row that left.
	var count int
	countWhere, countArgs := "", []any(nil)
	if t.grouped {
		countWhere, countArgs = " WHERE q."+r.GroupBy+" = "+db.placeholder(1), []any{t.group}
	}
	s.stats[r.Name].Queries.Add(1)
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q"+countWhere, countArgs...).Scan(&count); err != nil {
		return nil, "", fmt.Errorf("count rows: %w", err)
	}
	if count != len(rest)+len(fresh) {
		return nil, fmt.Sprintf("the list has %d rows, the last build's less those that changed plus those read again %d", count, len(rest)+len(fresh)), nil
	}
	before := func(a, b string) (bool, error) {
		var first string
		clause, args := where([]string{a, b})
		err := u.b.stream(r, ordered(r, "", clause)+" LIMIT 1", args, func(row Row) bool {
			first = keyString(row[r.Key])
			return false
		})
		if err == nil && first != a && first != b {
			err = fmt.Errorf("row %s or %s is no longer in the list", a, b)
		}
		return first == a, err
	}
	newSeq := make([]spliceRow, 0, len(rest)+len(fresh))
	lo := 0
	f := s.funcs
	c, err := f.fragmentOf(pl.frag, true)
	if err != nil {
		return nil, "", err
	}
	for _, row := range fresh {
		k := keyString(row[r.Key])
		if !changed[k] || k == "NULL" {
			return nil, "a row read that did not change", nil
		}
		pos, err := place(k, rest, lo, before)
		if err != nil {
			return nil, "", err
		}
		newSeq = append(newSeq, rest[lo:pos]...)
		lo = pos
		h, raw, err := f.render(c, pl.frag, row, true, true)
		if err != nil {
			return nil, "", templateError(pl.frag, err)
		}
		b := append([]byte(string(h)), raw...)
		if len(b) == 0 || filtered(b) {
			return nil, "a fragment the control filter may change", nil
		}
		newSeq = append(newSeq, spliceRow{key: k, fresh: b})
	}
	newSeq = append(newSeq, rest[lo:]...)
	if len(newSeq) == 0 {
		return nil, "no rows", nil
	}
	for i := 1; i <= n; i++ {
		rows := newSeq[(i-1)*r.PerPage : min(i*r.PerPage, len(newSeq))]
		same := len(rows) == len(pl.old[i].spans.Keys)
		for j, row := range rows {
			if row.fresh == nil && (row.page < i-1 || row.page > i+1) {
				return nil, "a row from a page further away", nil // from a page further away: render the pages
			}
			if same && (row.fresh != nil || row.key != pl.old[i].spans.Keys[j]) {
				same = false
			}
		}
		if !same {
			pl.pages[i] = rows
		}
	}
	return pl, "", nil
}

// rowSpans returns the pages of route r in the last build whose paths
// start with base, with their Path, Size and Rows.
func (u *updateRun) rowSpans(r *Route, base string) ([]bake.Entry, error) {
	ctx := u.b.ctx
	if x, ok := u.prev.(interface {
		RowSpans(context.Context, string, string) ([]bake.Entry, error)
	}); ok {
		return x.RowSpans(ctx, r.Name, base)
	}
	paths, err := u.prev.Paths(ctx, r.Name, "")
	if err != nil {
		return nil, err
	}
	out := make([]bake.Entry, 0, len(paths))
	for _, p := range paths {
		if !strings.HasPrefix(p, base) {
			continue
		}
		e, found, err := u.prev.Lookup(ctx, p)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, e)
		}
	}
	return out, nil
}

// place returns the index of the first of rest[lo:] that the row of key k
// comes before (len(rest) when none), by a binary search asking rest[lo]
// first: rows are most often added at the top.
func place(k string, rest []spliceRow, lo int, before func(a, b string) (bool, error)) (int, error) {
	var err error
	comesBefore := func(i int) bool {
		if err != nil {
			return true
		}
		var first bool
		first, err = before(k, rest[i].key)
		return first
	}
	if lo >= len(rest) || comesBefore(lo) {
		return lo, err
	}
	i := lo + 1 + sort.Search(len(rest)-lo-1, func(j int) bool { return comesBefore(lo + 1 + j) })
	return i, err
}

// emitSplice yields the pages of plan pl. Each reads the files of the
// last build it takes bytes from when it is rendered, on the build's
// workers: an update writes its files aside and moves them into place
// after the last page (output.InPlace), so the last build's stay as they
// were until then.
func (u *updateRun) emitSplice(r *Route, pl *splicePlan) bool {
	b := u.b
	rt := u.site.tmpl.routes[r.Template]
	rr, _ := u.prev.(rangeReader)
	n := len(pl.old) - 1
	for i := 1; i <= n; i++ {
		rows := pl.pages[i]
		if rows == nil {
			continue
		}
		old := pl.old[i]
		spans := &bake.RowSpans{At: old.spans.At, Lens: make([]int, len(rows)), Keys: make([]string, len(rows))}
		for j, row := range rows {
			if row.fresh != nil {
				spans.Lens[j] = len(row.fresh)
			} else {
				spans.Lens[j] = pl.old[row.page].spans.Lens[row.idx]
			}
			spans.Keys[j] = row.key
		}
		p := &bake.Page{Path: withPage(pl.base, i), Route: r.Name, Deps: bake.SortDeps(b.pageDeps(r, rt, keyDeps(r, spans.Keys))),
			Reason: strings.TrimSpace(u.reason + " (spliced)")}
		p.Render = func(ctx context.Context, w io.Writer) error {
			data, done, err := mapFile(ctx, u.prev, old.path)
			if err != nil {
				return fmt.Errorf("splice the page: %w", err)
			}
			defer done()
			if int64(len(data)) != old.size {
				return fmt.Errorf("splice the page: %s has %d bytes, its index entry %d: make the build again with bake build --full", old.path, len(data), old.size)
			}
			if buf, ok := w.(*bytes.Buffer); ok {
				buf.Grow(int(old.size) + 1024)
			}
			if _, err := w.Write(data[:old.spans.At]); err != nil {
				return err
			}
			for _, row := range rows {
				part := row.fresh
				if part == nil {
					from := pl.old[row.page]
					off := from.spans.At
					for _, l := range from.spans.Lens[:row.idx] {
						off += l
					}
					if row.page == i {
						part = data[off : off+from.spans.Lens[row.idx]]
					} else if part, err = readRange(ctx, u.prev, rr, from.path, from.size, off, from.spans.Lens[row.idx]); err != nil {
						return fmt.Errorf("splice the page: %w", err)
					}
				}
				if _, err := w.Write(part); err != nil {
					return err
				}
			}
			if _, err := w.Write(data[old.spans.At+old.spans.Len():]); err != nil {
				return err
			}
			p.Rows = spans
			return nil
		}
		u.site.stats[r.Name].ListPagesSpliced.Add(1)
		if !b.emit(p) {
			return false
		}
	}
	return true
}

// mapFile returns the bytes of the file of the last build at path, mapped
// when prev can (output.Index: no fresh memory for the 40 MB of the 1,900
// pages shifted by an insert at 100,000 rows), and a func to call when
// done with them.
func mapFile(ctx context.Context, prev bake.Index, path string) ([]byte, func(), error) {
	if m, ok := prev.(interface {
		MapFile(context.Context, string) ([]byte, func(), error)
	}); ok {
		return m.MapFile(ctx, path)
	}
	data, err := prev.ReadFile(ctx, path)
	return data, func() {}, err
}

// rangeReader reads part of a file of a build (output.Index does).
type rangeReader interface {
	ReadRange(ctx context.Context, path string, size, off int64, n int) ([]byte, error)
}

// readRange returns n bytes from off of the file of the last build at
// path, which must have size bytes, with rr when set.
func readRange(ctx context.Context, prev bake.Index, rr rangeReader, path string, size int64, off, n int) ([]byte, error) {
	if rr != nil {
		return rr.ReadRange(ctx, path, size, int64(off), n)
	}
	data, err := prev.ReadFile(ctx, path)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("%s has %d bytes, its index entry %d: make the build again with bake build --full", path, len(data), size)
	}
	return data[off : off+n], nil
}

// keyDeps returns the deps of a list page of route r showing the rows of
// keys, as rowDeps does from the rows.
func keyDeps(r *Route, keys []string) []bake.Dep {
	tables := r.tableDeps
	if tables == nil {
		tables = tableDepsOf(r.Query)
	}
	deps := make([]bake.Dep, 0, len(keys)+len(tables))
	deps = append(deps, tables...)
	for _, k := range keys {
		deps = append(deps, bake.RowDep(r.Table, k))
	}
	return deps
}

// filesTrusted reports whether the last build's files are those its index
// describes (output.Index.FilesTrusted): an update stopped after moving
// its files, before its index had them, leaves files newer than their
// entries, until its changes, replayed, write them again. What is made
// from the files (spliced list pages, the sitemap) is then made otherwise.
func (u *updateRun) filesTrusted() bool {
	t, ok := u.prev.(interface{ FilesTrusted() bool })
	return !ok || t.FilesTrusted()
}
