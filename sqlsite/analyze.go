package sqlsite

import (
	"iter"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/sqlscan"
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
	// rowLocal: each row is made from its own table row alone (see rowLocal)
	rowLocal bool
	limited  bool   // row-local but for a LIMIT (see rowLocalLimited)
	order    string // the ORDER BY of the query itself ("" without)
}

func analyze(r *Route) queryAnalysis {
	q := stripComments(r.Query)
	// tables reads comments and strings itself (stripComments knows
	// neither nested comments nor PostgreSQL's E'' and $$ strings).
	a := queryAnalysis{tables: sqlscan.Tables(r.Query), all: words(q), rowLocal: rowLocal(q), limited: rowLocalLimited(q), order: queryOrder(q)}
	a.layout = map[string]bool{}
	sel, rest, ok := splitSelect(q)
	if !ok || positional(a.order) || positional(r.OrderBy) {
		// ORDER BY 3 names a column by its place: any may decide the order.
		a.layout = a.all
		return a
	}
	maps.Copy(a.layout, words(rest))
	names := words(r.OrderBy + " " + r.GroupBy + " " + r.Date)
	maps.Copy(a.layout, names)
	// A column of the select list that WHERE or ORDER BY names by its
	// alias ("title AS headline ... ORDER BY headline") decides too.
	maps.Copy(names, words(rest))
	for _, item := range splitTop(sel, ',') {
		item = strings.TrimSpace(item)
		if item == "*" || strings.HasSuffix(item, ".*") {
			continue
		}
		ws := identRe.FindAllString(item, -1)
		if len(ws) == 0 {
			a.layout = a.all
			return a
		}
		out := strings.ToLower(strings.Trim(ws[len(ws)-1], `"`))
		if names[out] {
			maps.Copy(a.layout, words(item))
		}
	}
	return a
}

// positional reports whether an ORDER BY names a column by its place
// (ORDER BY 3).
func positional(order string) bool {
	for _, term := range splitTop(order, ',') {
		if f := strings.Fields(term); len(f) > 0 && strings.Trim(f[0], "0123456789") == "" {
			return true
		}
	}
	return false
}

// stripComments returns q with its comments (-- to the end of the line,
// /* to */) replaced by spaces, quoted text left as it is.
func stripComments(q string) string {
	if !strings.Contains(q, "--") && !strings.Contains(q, "/*") {
		return q
	}
	b := []byte(q)
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '[':
			quote = ']'
		case c == '-' && i+1 < len(b) && b[i+1] == '-':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := i + 2
			for j+1 < len(b) && !(b[j] == '*' && b[j+1] == '/') {
				j++
			}
			end := min(j+2, len(b))
			for k := i; k < end; k++ {
				b[k] = ' '
			}
			i = end - 1
		}
	}
	return string(b)
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
			case c == '\'' || c == '"' || c == '`':
				quote = c
			case c == '[':
				quote = ']'
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
	add := func(q string) { out = append(out, sqlscan.Tables(q)...) }
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

// notRowLocal are the words of a query whose rows can depend on other rows
// than their own: joins and subqueries, window functions, aggregates,
// set operations, and row limits.
var notRowLocal = map[string]bool{
	"join": true, "over": true, "window": true, "group": true, "having": true, "distinct": true,
	"limit": true, "offset": true, "fetch": true, "union": true, "intersect": true, "except": true, "with": true,
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "total": true,
	"group_concat": true, "string_agg": true, "array_agg": true, "json_group_array": true, "json_agg": true,
	"row_number": true, "rank": true, "dense_rank": true, "ntile": true, "lag": true, "lead": true,
	"first_value": true, "last_value": true, "nth_value": true, "cume_dist": true, "percent_rank": true,
}

// rowLocal reports whether every row of query q is made from one row of
// one table and nothing else: one SELECT, one table in its FROM, none of
// the words of notRowLocal (anywhere, quoted text included: a false "no"
// only costs speed). Only then can an update tell which pages of a list a
// row's insert, deletion or move leaves as they were.
func rowLocal(q string) bool { return rowLocalBut(q, nil) }

// limitWords are the words of a query that cut its rows to a number.
var limitWords = map[string]bool{"limit": true, "offset": true, "fetch": true}

// rowLocalLimited reports whether query q is row-local but for a LIMIT,
// OFFSET or FETCH (a feed's query): each of its rows is made from its own
// table row, and which rows it returns is decided by its WHERE, ORDER BY
// and limit alone.
func rowLocalLimited(q string) bool { return rowLocalBut(q, limitWords) }

// orderRe finds the ORDER BY of a row-local query, up to its limit.
var orderRe = regexp.MustCompile(`(?is)\border\s+by\s+(.+?)\s*(?:\blimit\b|\boffset\b|\bfetch\b|$)`)

// queryOrder returns the ORDER BY terms of a row-local query ("" without).
func queryOrder(q string) string {
	if m := orderRe.FindStringSubmatch(stripComments(q)); m != nil {
		return m[1]
	}
	return ""
}

// clauseWords end a FROM clause.
var clauseWords = map[string]bool{"where": true, "group": true, "having": true, "window": true, "order": true, "limit": true, "offset": true, "fetch": true}

// fromClause returns the FROM clause that rest (a query after its select
// list) starts with: up to its first top-level WHERE, GROUP BY, ORDER BY...
// (a comma there joins tables; in an ORDER BY it does not).
func fromClause(rest string) string {
	for i := range topLevel(rest) {
		if i > 0 && identByte(rest[i-1]) || !identByte(rest[i]) {
			continue
		}
		j := i
		for j < len(rest) && identByte(rest[j]) {
			j++
		}
		if clauseWords[strings.ToLower(rest[i:j])] {
			return rest[:i]
		}
	}
	return rest
}

// fromJoinRe finds each FROM or JOIN followed by a name.
var fromJoinRe = regexp.MustCompile(`(?is)\b(?:from|join)\s+("[^"]+"|[A-Za-z_][\w.]*)`)

// rowLocalBut is rowLocal, allowing the words of allow.
func rowLocalBut(q string, allow map[string]bool) bool {
	q = stripComments(q)
	_, rest, ok := splitSelect(q)
	if !ok || len(fromJoinRe.FindAllStringIndex(q, -1)) != 1 || len(splitTop(fromClause(rest), ',')) != 1 {
		return false
	}
	selects := 0
	for _, w := range identRe.FindAllString(q, -1) {
		w = strings.ToLower(w)
		if w == "select" {
			selects++
		}
		if notRowLocal[w] && !allow[w] || selects > 1 {
			return false
		}
	}
	return true
}

// totalOrder reports whether order (an order_by) ends with column key, so
// that no two rows tie: without that, PostgreSQL may order tied rows one
// way in one query and another way in the next.
func totalOrder(order, key string) bool {
	terms := splitTop(order, ',')
	last := strings.Fields(terms[len(terms)-1])
	if len(last) == 0 || key == "" {
		return false
	}
	col := strings.Trim(last[0], `"`)
	if i := strings.LastIndexByte(col, '.'); i >= 0 {
		col = strings.Trim(col[i+1:], `"`)
	}
	return strings.EqualFold(col, key)
}
