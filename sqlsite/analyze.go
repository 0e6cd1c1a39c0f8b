package sqlsite

import (
	"iter"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/bakehq/bake"
)

// What a row change can alter of a query, told from the query's text: the
// columns it names, and those that decide which rows and in what order.

// touches reports whether change c can alter the result of a query naming
// words: yes unless the columns changed are known and none is named.
func touches(c bake.Change, words map[string]bool) bool {
	if c.Columns == nil || c.Op != bake.OpUpdate || words["*"] {
		return true
	}
	for _, col := range c.Columns {
		if words[strings.ToLower(col)] {
			return true
		}
	}
	return false
}

// queryAnalysis is what an update needs to know of a route's query.
type queryAnalysis struct {
	tables []string
	all    map[string]bool // every word of the query, lowercased; "*" for SELECT *
	layout map[string]bool // the words that decide which rows and in what order
	sel    map[string]bool // the names of the columns returned ("*" for all)
}

func analyze(r *Route) queryAnalysis {
	a := queryAnalysis{tables: tables(r.Query), all: words(r.Query)}
	a.layout = map[string]bool{}
	a.sel = map[string]bool{}
	sel, rest, ok := splitSelect(r.Query)
	if !ok {
		a.layout = a.all
		return a
	}
	maps.Copy(a.layout, words(rest))
	names := words(r.OrderBy + " " + r.GroupBy + " " + r.Date)
	maps.Copy(a.layout, names)
	for _, item := range splitTop(sel, ',') {
		item = strings.TrimSpace(item)
		if item == "*" || strings.HasSuffix(item, ".*") {
			a.sel["*"] = true
			continue
		}
		ws := identRe.FindAllString(item, -1)
		if len(ws) == 0 {
			a.layout = a.all
			return a
		}
		out := strings.ToLower(strings.Trim(ws[len(ws)-1], `"`))
		a.sel[out] = true
		if names[out] {
			maps.Copy(a.layout, words(item))
		}
	}
	return a
}

// selectsKey reports whether the query returns column key itself (by name
// or with *), so that its rows can be found by key.
func (a queryAnalysis) selectsKey(key string) bool {
	return a.sel["*"] || a.sel[strings.ToLower(key)]
}

var identRe = regexp.MustCompile(`"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*|\*`)

// words returns the identifiers of a query, lowercased, without quotes;
// "*" stands for a SELECT * (or t.*), which names every column.
func words(q string) map[string]bool {
	out := map[string]bool{}
	q = strings.ReplaceAll(q, "(*)", "()")
	for _, w := range identRe.FindAllString(q, -1) {
		out[strings.ToLower(strings.Trim(w, `"`))] = true
	}
	return out
}

// splitSelect splits "SELECT list FROM rest" at the first FROM outside
// parentheses and quotes.
func splitSelect(q string) (sel, rest string, ok bool) {
	q = strings.TrimSpace(q)
	if len(q) < 6 || !strings.EqualFold(q[:6], "select") {
		return "", "", false
	}
	for i := range topLevel(q) {
		if i > 6 && i+4 <= len(q) && strings.EqualFold(q[i:i+4], "from") &&
			!identByte(q[i-1]) && (i+4 == len(q) || !identByte(q[i+4])) {
			sel, rest = q[6:i], q[i:]
			if d := strings.TrimSpace(sel); len(d) > 8 && strings.EqualFold(d[:8], "distinct") {
				sel = d[8:]
			}
			return sel, rest, true
		}
	}
	return "", "", false
}

// topLevel yields the offsets of the bytes of s that are outside
// parentheses and quotes.
func topLevel(s string) iter.Seq[int] {
	return func(yield func(int) bool) {
		depth := 0
		var quote byte
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '(':
				depth++
			case c == ')':
				depth--
			case depth == 0:
				if !yield(i) {
					return
				}
			}
		}
	}
}

func identByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// splitTop splits s at sep outside parentheses and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	start := 0
	for i := range topLevel(s) {
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Tables returns the tables that the site's queries read (routes, route
// queries and site queries), sorted: the tables change capture watches.
func (s *Site) Tables() []string {
	var out []string
	add := func(q string) { out = append(out, tables(q)...) }
	for _, q := range s.cfg.Queries {
		add(q)
	}
	for _, r := range s.cfg.Routes {
		add(r.Query)
		if r.Table != "" {
			out = append(out, r.Table)
		}
		for _, q := range r.Queries {
			add(q)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
