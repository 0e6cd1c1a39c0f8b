// Package sqlscan finds the tables an SQL query reads, from its text
// alone, as SQLite and as PostgreSQL read it: no parser, no database.
//
// bake records the tables a page's query reads as its deps, so a table
// missing here is a change an incremental build misses: the scan errs on
// the side of more. It takes every name in a FROM list (each item after
// FROM or a comma, at the clause's own parenthesis depth, and the first
// name inside a parenthesised join) or after JOIN, table-valued functions
// included, but for references to common table expressions within their
// scope.
package sqlscan

import (
	"slices"
	"strings"
)

// sqlToken is one token of a query: a word (name or keyword, lowercased
// in low), a quoted name, or one punctuation byte.
type sqlToken struct {
	text   string // as written, quotes removed from a quoted name
	low    string // lowercased word; "" for other tokens
	quoted bool
}

// is reports whether t is the punctuation s (not a quoted name "(").
func (t sqlToken) is(s string) bool { return !t.quoted && t.text == s }

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordByte(c byte) bool {
	return isWordStart(c) || c == '$' || c == '.' || c >= '0' && c <= '9'
}

// sqlTokens splits query into tokens, skipping spaces, comments, string
// literals, numbers and parameters, as SQLite reads them (brackets quote a
// name, comments do not nest) or as PostgreSQL does (brackets are array
// subscripts; comments nest; E-strings have backslash escapes; $tag$ quotes
// a string up to the next $tag$).
func sqlTokens(q string, postgres bool) []sqlToken {
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
			i = skipComment(q, i, postgres)
		case c == '\'':
			i = skipString(q, i+1, false)
		case c == '$' && postgres:
			if tag, ok := dollarTag(q[i:]); ok {
				if end := strings.Index(q[i+len(tag):], tag); end >= 0 {
					i += 2*len(tag) + end
				} else {
					i = len(q) // unterminated: the rest is the string
				}
				break
			}
			i++ // $1: a parameter
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
		case c == '"' || c == '`' || c == '[' && !postgres:
			closing := map[byte]byte{'"': '"', '`': '`', '[': ']'}[c]
			var name strings.Builder
			j := i + 1
			for ; j < len(q); j++ {
				if q[j] == closing {
					if closing != ']' && j+1 < len(q) && q[j+1] == closing { // "" inside ""
						name.WriteByte(closing)
						j++
						continue
					}
					break
				}
				name.WriteByte(q[j])
			}
			out = append(out, sqlToken{text: name.String(), quoted: true})
			i = j + 1
		case isWordStart(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			if postgres && j-i == 1 && (c == 'e' || c == 'E') && j < len(q) && q[j] == '\'' {
				i = skipString(q, j+1, true) // E'…'
				break
			}
			out = append(out, sqlToken{text: q[i:j], low: strings.ToLower(q[i:j])})
			i = j
		case c >= '0' && c <= '9':
			for i < len(q) && (q[i] == '.' || q[i] >= '0' && q[i] <= '9' || q[i] >= 'a' && q[i] <= 'z' || q[i] >= 'A' && q[i] <= 'Z') {
				i++
			}
		case c == ':' && i+1 < len(q) && q[i+1] == ':':
			i += 2 // a PostgreSQL cast
		case c == ':' || c == '@' || c == '?':
			// A parameter: :name, @name, ?NNN.
			i++
			for i < len(q) && (q[i] == '_' || q[i] >= 'a' && q[i] <= 'z' || q[i] >= 'A' && q[i] <= 'Z' || q[i] >= '0' && q[i] <= '9') {
				i++
			}
		default:
			out = append(out, sqlToken{text: q[i : i+1]})
			i++
		}
	}
	return qualify(out)
}

// qualify joins the parts of qualified names written with quotes
// ("public"."posts", main."posts", [main].[posts]) into one name token, as
// a word main.posts is: the part after the last dot is the table.
func qualify(toks []sqlToken) []sqlToken {
	name := func(t sqlToken) bool { return t.quoted || t.low != "" }
	var out []sqlToken
	for i := 0; i < len(toks); i++ {
		t := toks[i]
	parts:
		for name(t) {
			switch {
			case i+2 < len(toks) && toks[i+1].is(".") && name(toks[i+2]):
				i += 2
			case strings.HasSuffix(t.text, ".") && !t.quoted && i+1 < len(toks) && toks[i+1].quoted:
				i++
			default:
				break parts
			}
			next := toks[i]
			joined := strings.TrimSuffix(t.text, ".") + "." + next.text
			t = sqlToken{text: joined, low: strings.ToLower(joined), quoted: t.quoted || next.quoted}
		}
		out = append(out, t)
	}
	return out
}

// skipComment returns the index after the /* comment at i (the end of q
// when it is not closed); nested comments count when nest is set, as in
// PostgreSQL.
func skipComment(q string, i int, nest bool) int {
	depth := 0
	for i < len(q) {
		switch {
		case strings.HasPrefix(q[i:], "/*") && (nest || depth == 0):
			depth++
			i += 2
		case strings.HasPrefix(q[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return i
}

// skipString returns the index after the string literal whose text starts
// at i (after its opening quote); two quotes are one, and with backslash, \x
// escapes any byte.
func skipString(q string, i int, backslash bool) int {
	for i < len(q) {
		switch {
		case backslash && q[i] == '\\':
			i += 2
		case q[i] == '\'' && i+1 < len(q) && q[i+1] == '\'':
			i += 2
		case q[i] == '\'':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// dollarTag returns the $tag$ or $$ that opens a dollar-quoted string at
// the start of s.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	return "", false
}

// fromEnds are the words that end a FROM clause at its depth.
var fromEnds = map[string]bool{"where": true, "group": true, "order": true, "limit": true, "having": true,
	"window": true, "union": true, "except": true, "intersect": true, "select": true, "values": true,
	"returning": true, "set": true, "offset": true, "fetch": true, "for": true}

// notTables are words that may follow FROM or JOIN without being a table
// (SELECT and VALUES end the clause: see fromEnds).
var notTables = map[string]bool{"lateral": true, "only": true, "with": true}

// tableRefs returns the indexes of the names read after FROM, a FROM
// list's commas and JOIN, in query order.
func tableRefs(toks []sqlToken) []int {
	type level struct{ inFrom, expect bool }
	stack := []level{{}}
	var out []int
	for k, t := range toks {
		l := &stack[len(stack)-1]
		switch {
		case t.is("("):
			// A subquery, a function's arguments or a parenthesised join,
			// which starts with a table.
			expect := l.expect
			l.expect = false
			stack = append(stack, level{inFrom: expect, expect: expect})
		case t.is(")"):
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case t.is(",") && l.inFrom:
			l.expect = true
		case t.low == "from" || t.low == "join":
			l.inFrom, l.expect = true, true
		case t.low == "on" || t.low == "using":
			l.expect = false
		case fromEnds[t.low]:
			l.inFrom, l.expect = false, false
		case l.expect && (t.quoted || t.low != "" && !notTables[t.low]):
			out = append(out, k)
			l.expect = false
		case l.expect && t.low == "":
			l.expect = false
		}
	}
	return out
}

// Tables returns every table query reads (see the package doc), each
// once, in query order: read as SQLite and as PostgreSQL would, for the
// query does not say which it is for. A qualified name (main.posts) also
// gives its table's own name (posts), which is what change capture
// records.
func Tables(query string) []string {
	var out []string
	add := func(name string) {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, postgres := range []bool{false, true} {
		toks := sqlTokens(query, postgres)
		ctes := cteDefs(toks)
		for _, k := range tableRefs(toks) {
			ref := toks[k]
			if slices.ContainsFunc(ctes, func(c cteDef) bool { return c.scope[0] <= k && k < c.scope[1] && c.names(ref) }) {
				continue
			}
			add(ref.text)
			if i := strings.LastIndexByte(ref.text, '.'); i >= 0 {
				add(ref.text[i+1:])
			}
		}
	}
	return out
}

// cteDef is a common table expression: its name and the tokens where that
// name means it, rather than a table: after its own body to the end of
// the statement its WITH belongs to, and its body too under WITH
// RECURSIVE. (An earlier CTE's body, and a non-recursive CTE's own, name
// tables, as PostgreSQL reads them.)
type cteDef struct {
	name  sqlToken
	scope [2]int
}

// names reports whether ref names the CTE: the same name, in any case
// unless either is quoted (PostgreSQL's "Posts" is not posts).
func (c cteDef) names(ref sqlToken) bool {
	if c.name.quoted || ref.quoted {
		return c.name.text == ref.text
	}
	return c.name.low == ref.low
}

// cteDefs finds WITH [RECURSIVE] name [(columns)] AS [NOT] [MATERIALIZED] (body)
// and each ", name AS (body)" after it, at any depth.
func cteDefs(toks []sqlToken) []cteDef {
	var out []cteDef
	for i := 0; i < len(toks); i++ {
		if toks[i].low != "with" {
			continue
		}
		end := statementEnd(toks, i)
		j := i + 1
		recursive := j < len(toks) && toks[j].low == "recursive"
		if recursive {
			j++
		}
		for j < len(toks) && (toks[j].low != "" || toks[j].quoted) {
			name := toks[j]
			j++
			if j < len(toks) && toks[j].is("(") { // column names
				j = closeParen(toks, j) + 1
			}
			if j >= len(toks) || toks[j].low != "as" {
				break
			}
			j++
			for j < len(toks) && (toks[j].low == "not" || toks[j].low == "materialized") {
				j++
			}
			if j >= len(toks) || !toks[j].is("(") {
				break
			}
			bodyEnd := closeParen(toks, j)
			start := bodyEnd + 1
			if recursive {
				start = i
			}
			out = append(out, cteDef{name: name, scope: [2]int{start, end}})
			j = bodyEnd + 1
			if j >= len(toks) || !toks[j].is(",") {
				break
			}
			j++
		}
	}
	return out
}

// statementEnd returns the index of the ")" that closes the parenthesis
// the token at i is in, or len(toks) at the top level.
func statementEnd(toks []sqlToken, i int) int {
	depth := 0
	for k := i; k < len(toks); k++ {
		switch {
		case toks[k].is("("):
			depth++
		case toks[k].is(")"):
			if depth == 0 {
				return k
			}
			depth--
		}
	}
	return len(toks)
}

// closeParen returns the index of the ")" matching the "(" at open, or
// len(toks) when it is missing: the one that closes what follows open.
func closeParen(toks []sqlToken, open int) int { return statementEnd(toks, open+1) }
