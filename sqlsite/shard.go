package sqlsite

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/bakehq/bake"
)

// A Shard is a part of a full build that one worker renders on its own
// (see docs/scale-out.md): the static files, the sitemaps, one route
// whole, a range of a detail route's keys, a range of a paginated list's
// pages (a list numbered from its newest row; a stable list is one
// shard), or some groups of a grouped list. The shards [Site.Shards]
// returns make, between them, every page of [Site.Pages], each once.
type Shard struct {
	Static  bool   `json:"static,omitempty"`  // the files of the static folder
	Sitemap bool   `json:"sitemap,omitempty"` // the sitemaps (every route is read, none rendered)
	Route   string `json:"route,omitempty"`   // the route, whole unless a range below is set
	// After and Through bound a detail route's keys: above After (when
	// set), up to Through included (when set).
	After   *Key `json:"after,omitempty"`
	Through *Key `json:"through,omitempty"`
	// From and To, when From is above 0, are the pages of a paginated
	// list, both included.
	From int `json:"from,omitempty"`
	To   int `json:"to,omitempty"`
	// Groups, when set, are the groups of a grouped list.
	Groups []Key `json:"groups,omitempty"`
	// Pages is about how many pages the shard makes (for progress).
	Pages int `json:"pages,omitempty"`
}

// Key is the value of a key or group column: an integer or a text.
type Key struct {
	Int  *int64  `json:"i,omitempty"`
	Text *string `json:"s,omitempty"`
}

func keyOf(v any) (Key, bool) {
	switch v := v.(type) {
	case int64:
		return Key{Int: &v}, true
	case string:
		return Key{Text: &v}, true
	case []byte:
		s := string(v)
		return Key{Text: &s}, true
	}
	return Key{}, false
}

// value returns k as a query argument.
func (k Key) value() any {
	if k.Int != nil {
		return *k.Int
	}
	if k.Text != nil {
		return *k.Text
	}
	return nil
}

// literal returns k as an SQL literal, for SQLite and PostgreSQL alike.
func (k Key) literal() string {
	if k.Int != nil {
		return strconv.FormatInt(*k.Int, 10)
	}
	if k.Text != nil {
		return "'" + strings.ReplaceAll(*k.Text, "'", "''") + "'"
	}
	return "NULL"
}

func (k *Key) String() string {
	switch {
	case k == nil:
		return "…"
	case k.Int != nil:
		return strconv.FormatInt(*k.Int, 10)
	case k.Text != nil:
		return strconv.Quote(*k.Text)
	}
	return "NULL"
}

// String names the shard in logs and messages.
func (sh Shard) String() string {
	switch {
	case sh.Static:
		return "static files"
	case sh.Sitemap:
		return "sitemaps"
	case sh.After != nil || sh.Through != nil:
		return fmt.Sprintf("route %s, keys (%s, %s]", sh.Route, sh.After, sh.Through)
	case sh.From > 0:
		return fmt.Sprintf("route %s, pages %d-%d", sh.Route, sh.From, sh.To)
	case len(sh.Groups) > 0:
		return fmt.Sprintf("route %s, %d groups from %s", sh.Route, len(sh.Groups), &sh.Groups[0])
	}
	return "route " + sh.Route
}

// Shards cuts a full build of the site into shards of about size pages
// (a list page, which shows many rows, counts for several): one query a
// detail route (its keys, numbered, every size-th kept), a COUNT a
// paginated list, a GROUP BY a grouped list.
func (s *Site) Shards(ctx context.Context, size int) ([]Shard, error) {
	if size <= 0 {
		size = 2000
	}
	out := []Shard{{Static: true}}
	hasSitemap := false
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		var (
			part []Shard
			err  error
		)
		switch {
		case r.Kind == KindSitemap:
			hasSitemap = true
			continue
		case r.Kind == KindDetail:
			part, err = s.detailShards(ctx, r, size)
		case r.Kind == KindList && r.GroupBy != "":
			part, err = s.groupShards(ctx, r, listSize(r, size))
		case r.Kind == KindList && r.PerPage > 0 && !r.stable():
			part, err = s.listShards(ctx, r, listSize(r, size))
		default:
			part = []Shard{{Route: r.Name, Pages: 1}}
		}
		if err != nil {
			return nil, fmt.Errorf("route %s: plan shards: %w", r.Name, err)
		}
		out = append(out, part...)
	}
	if hasSitemap {
		out = append(out, Shard{Sitemap: true, Pages: 1})
	}
	return out, nil
}

// listSize is the number of pages of a list in a shard of size pages: a
// list page shows per_page rows, rendered as one tenth of a page each.
func listSize(r *Route, size int) int {
	return max(1, size*10/max(10, r.PerPage))
}

// detailShards cuts a detail route by ranges of its key.
func (s *Site) detailShards(ctx context.Context, r *Route, size int) ([]Shard, error) {
	whole := []Shard{{Route: r.Name}}
	if !r.keyCol {
		return whole, nil
	}
	q := "SELECT k, n FROM (SELECT q." + r.Key + " AS k, row_number() OVER (ORDER BY q." + r.Key + ") AS n, COUNT(*) OVER () AS total FROM (" +
		clean(r.Query) + ") AS q) AS s WHERE n % " + strconv.Itoa(size) + " = 0 OR n = total ORDER BY n"
	rows, err := s.db.queryRows(ctx, q)
	if err != nil {
		return nil, err
	}
	var nulls int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q WHERE q."+r.Key+" IS NULL").Scan(&nulls); err != nil {
		return nil, err
	}
	if nulls > 0 {
		return whole, nil
	}
	var out []Shard
	var after *Key
	prev := int64(0)
	for _, row := range rows {
		k, ok := keyOf(row["k"])
		n, _ := row["n"].(int64)
		if !ok {
			return whole, nil // a key of another type: not cut
		}
		out = append(out, Shard{Route: r.Name, After: after, Through: &k, Pages: int(n - prev)})
		after, prev = &k, n
	}
	if len(out) == 0 {
		return []Shard{{Route: r.Name}}, nil
	}
	out[len(out)-1].Through = nil // and whatever rows came since
	return out, nil
}

// listShards cuts a paginated list by ranges of its pages.
func (s *Site) listShards(ctx context.Context, r *Route, size int) ([]Shard, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q").Scan(&total); err != nil {
		return nil, err
	}
	pages := pageCount(total, r.PerPage)
	var out []Shard
	for from := 1; from <= pages; from += size {
		to := min(pages, from+size-1)
		out = append(out, Shard{Route: r.Name, From: from, To: to, Pages: to - from + 1})
	}
	out[len(out)-1].To = 0 // and whatever pages came since
	return out, nil
}

// groupShards packs the groups of a grouped list into shards of about
// size pages.
func (s *Site) groupShards(ctx context.Context, r *Route, size int) ([]Shard, error) {
	rows, err := s.db.queryRows(ctx, "SELECT q."+r.GroupBy+" AS g, COUNT(*) AS n FROM ("+clean(r.Query)+") AS q GROUP BY q."+r.GroupBy+" ORDER BY q."+r.GroupBy)
	if err != nil {
		return nil, err
	}
	var out []Shard
	var cur Shard
	for _, row := range rows {
		k, ok := keyOf(row["g"])
		if !ok {
			// NULL (a problem the whole list reports) or another type.
			return []Shard{{Route: r.Name}}, nil
		}
		n, _ := row["n"].(int64)
		cur.Groups = append(cur.Groups, k)
		cur.Pages += pageCount(int(n), r.PerPage)
		if cur.Pages >= size {
			cur.Route = r.Name
			out = append(out, cur)
			cur = Shard{}
		}
	}
	if len(cur.Groups) > 0 || len(out) == 0 {
		cur.Route = r.Name
		out = append(out, cur)
	}
	return out, nil
}

// ShardPages streams the pages of one shard, as [Site.Pages] makes them:
// the same bytes, deps and input digests.
func (s *Site) ShardPages(ctx context.Context, sh Shard) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		if !sh.Static && !sh.Sitemap && s.routes[sh.Route] == nil {
			yield(nil, fmt.Errorf("shard: no route %q in bake.toml (the workers' bake.toml differs from the one the build was planned with?)", sh.Route))
			return
		}
		b := &buildRun{site: s, ctx: ctx, yield: yield, shard: &sh, quiet: sh.Sitemap}
		b.run()
	}
}

// shardStatic reports whether this pass makes the static files.
func (b *buildRun) shardStatic() bool {
	return b.shard == nil || b.shard.Static || b.shard.Sitemap
}

// shardRoute returns the route to run for r in this pass, nil to skip it:
// r itself, or for a range of it, a copy whose query reads the range.
func (b *buildRun) shardRoute(r *Route) (*Route, error) {
	sh := b.shard
	switch {
	case sh == nil || sh.Sitemap:
		return r, nil
	case sh.Static || sh.Route != r.Name:
		return nil, nil
	}
	var conds []string
	if sh.After != nil {
		conds = append(conds, "q."+r.Key+" > "+sh.After.literal())
	}
	if sh.Through != nil {
		conds = append(conds, "q."+r.Key+" <= "+sh.Through.literal())
	}
	if sh.From > 0 {
		var total int
		if err := b.site.db.QueryRowContext(b.ctx, "SELECT COUNT(*) FROM ("+clean(r.Query)+") AS q").Scan(&total); err != nil {
			return nil, fmt.Errorf("count rows: %w", err)
		}
		// The span an incremental build uses: from page From, stopping
		// after page To (to the end when To is 0).
		b.span = &listSpan{from: sh.From, through: sh.To, pages: pageCount(total, r.PerPage)}
	}
	if len(conds) == 0 {
		return r, nil
	}
	// A copy that reads the range: the same query (its deps are the
	// tables it names), with a condition (see ordered).
	c := *r
	c.shardWhere = strings.Join(conds, " AND ")
	return &c, nil
}

// withShard adds the route's shard condition to where ("" or " WHERE …").
func (r *Route) withShard(where string) string {
	switch {
	case r.shardWhere == "":
		return where
	case where == "":
		return " WHERE " + r.shardWhere
	}
	return where + " AND " + r.shardWhere
}

// shardGroups returns the groups of r this pass makes, nil for all.
func (b *buildRun) shardGroups(r *Route) []any {
	if b.shard == nil || b.shard.Route != r.Name || len(b.shard.Groups) == 0 {
		return nil
	}
	out := make([]any, len(b.shard.Groups))
	for i, g := range b.shard.Groups {
		out[i] = g.value()
	}
	return out
}
