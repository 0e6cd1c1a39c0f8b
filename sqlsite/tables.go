package sqlsite

import (
	"slices"
	"strings"
)

// Which tables a query reads: what a page's deps say it depends on. A
// table missing here is a change an incremental build misses, so the
// scan errs on the side of more: every name in a FROM list (each item
// after FROM or a comma, at the clause's own parenthesis depth) or after
// JOIN, table-valued functions included, but for the names of common
// table expressions that do not read themselves.

// sqlToken is one token of a query: a word (name or keyword, lowercased
// in low), a quoted name, or one punctuation byte.
type sqlToken struct {
	text   string // as written, quotes removed from a quoted name
	low    string // lowercased word; "" for other tokens
	quoted bool
	at     int // byte offset in the query
}

// sqlTokens splits query into tokens, skipping spaces, comments, string
// literals and numbers.
func sqlTokens(q string) []sqlToken {
	var out []sqlToken
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '\'':
			i++
			for i < len(q) {
				if q[i] == '\'' {
					if i+1 < len(q) && q[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			i++
		case c == '"' || c == '`' || c == '[':
			closing := map[byte]byte{'"': '"', '`': '`', '[': ']'}[c]
			end := strings.IndexByte(q[i+1:], closing)
			if end < 0 {
				return out
			}
			out = append(out, sqlToken{text: q[i+1 : i+1+end], quoted: true, at: i})
			i += end + 2
		case c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			j := i
			for j < len(q) && (q[j] == '_' || q[j] == '$' || q[j] == '.' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9' || q[j] >= 0x80) {
				j++
			}
			out = append(out, sqlToken{text: q[i:j], low: strings.ToLower(q[i:j]), at: i})
			i = j
		case c >= '0' && c <= '9':
			for i < len(q) && (q[i] == '.' || q[i] >= '0' && q[i] <= '9' || q[i] >= 'a' && q[i] <= 'z' || q[i] >= 'A' && q[i] <= 'Z') {
				i++
			}
		case c == ':' || c == '@' || c == '?':
			// A parameter: :name, @name, ?NNN.
			i++
			for i < len(q) && (q[i] == '_' || q[i] >= 'a' && q[i] <= 'z' || q[i] >= 'A' && q[i] <= 'Z' || q[i] >= '0' && q[i] <= '9') {
				i++
			}
		default:
			out = append(out, sqlToken{text: q[i : i+1], at: i})
			i++
		}
	}
	return out
}

// fromEnds are the words that end a FROM clause at its depth.
var fromEnds = map[string]bool{"where": true, "group": true, "order": true, "limit": true, "having": true,
	"window": true, "union": true, "except": true, "intersect": true, "select": true, "values": true,
	"returning": true, "set": true, "offset": true, "fetch": true, "for": true}

// notTables are words that may follow FROM or JOIN without being a table.
var notTables = map[string]bool{"lateral": true, "only": true, "select": true, "with": true, "values": true}

// tableRefs returns the names read after FROM, a FROM list's commas and
// JOIN, in query order, each with its token.
func tableRefs(toks []sqlToken) []sqlToken {
	type level struct{ inFrom, expect bool }
	stack := []level{{}}
	var out []sqlToken
	for _, t := range toks {
		l := &stack[len(stack)-1]
		switch {
		case t.text == "(":
			l.expect = false // a subquery or a function's arguments: scanned inside
			stack = append(stack, level{})
		case t.text == ")":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case t.text == "," && l.inFrom:
			l.expect = true
		case t.low == "from":
			l.inFrom, l.expect = true, true
		case t.low == "join":
			l.inFrom, l.expect = true, true
		case t.low == "on" || t.low == "using":
			l.expect = false
		case fromEnds[t.low] && !t.quoted:
			l.inFrom, l.expect = false, false
		case l.expect && (t.quoted || t.low != "" && !notTables[t.low]):
			out = append(out, t)
			l.expect = false
		case l.expect && t.low == "":
			l.expect = false
		}
	}
	return out
}

// tables returns every table a query reads (see above), each once, in
// query order.
func tables(query string) []string {
	toks := sqlTokens(query)
	// CTE names that read a table of that name (not under RECURSIVE,
	// where the name in its body is the CTE itself).
	selfReading := map[string]bool{}
	ctes := map[string]bool{}
	for _, c := range cteDefs(toks) {
		name := strings.ToLower(c.name)
		ctes[name] = true
		if c.recursive {
			continue
		}
		for _, r := range tableRefs(toks[c.body[0]:c.body[1]]) {
			if strings.EqualFold(r.text, c.name) {
				selfReading[name] = true
			}
		}
	}
	var out []string
	for _, r := range tableRefs(toks) {
		name := strings.ToLower(r.text)
		if r.text == "" || ctes[name] && !selfReading[name] {
			continue
		}
		if !slices.Contains(out, r.text) {
			out = append(out, r.text)
		}
	}
	return out
}

// cteDef is a common table expression: its name and the token range of
// its body, inside its parentheses.
type cteDef struct {
	name      string
	body      [2]int
	recursive bool // under WITH RECURSIVE: a reference to name in body is to itself
}

// cteDefs finds WITH [RECURSIVE] name [(columns)] AS [NOT [MATERIALIZED]] (body)
// and each ", name AS (body)" after it, at any depth.
func cteDefs(toks []sqlToken) []cteDef {
	var out []cteDef
	for i := 0; i < len(toks); i++ {
		if toks[i].low != "with" {
			continue
		}
		j := i + 1
		recursive := j < len(toks) && toks[j].low == "recursive"
		if recursive {
			j++
		}
		for j < len(toks) && (toks[j].low != "" || toks[j].quoted) {
			name := toks[j].text
			j++
			if j < len(toks) && toks[j].text == "(" { // column names
				j = closeParen(toks, j) + 1
			}
			if j >= len(toks) || toks[j].low != "as" {
				break
			}
			j++
			for j < len(toks) && (toks[j].low == "not" || toks[j].low == "materialized") {
				j++
			}
			if j >= len(toks) || toks[j].text != "(" {
				break
			}
			end := closeParen(toks, j)
			out = append(out, cteDef{name: name, body: [2]int{j + 1, end}, recursive: recursive})
			j = end + 1
			if j >= len(toks) || toks[j].text != "," {
				break
			}
			j++
		}
		i = j - 1
	}
	return out
}

// closeParen returns the index of the ")" matching the "(" at open, or
// len(toks) when it is missing.
func closeParen(toks []sqlToken, open int) int {
	depth := 0
	for k := open; k < len(toks); k++ {
		switch toks[k].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return len(toks)
}
