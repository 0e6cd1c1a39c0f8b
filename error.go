package bake

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a problem with one part of a site: a route, a page, a row or a
// template line. A build collects them, keeps going, and reports them all.
type Error struct {
	Route string // route name, if known
	Path  string // page URL path, if known
	Key   string // row key, if known
	File  string // file at fault: a template or bake.toml, if known
	Line  int    // line in File, if known
	Err   error
}

// Error formats the problem as "file:line: route R: page P: row K: cause".
// A file, path or key that is not valid UTF-8 or holds a control character
// is quoted, and such bytes in the cause (a row's value in a message) are
// escaped as \xff, \x1b: the text is safe to print on a terminal.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(quoteOdd(e.File))
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Route != "" {
		fmt.Fprintf(&b, "route %q: ", e.Route)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, "page %s: ", quoteOdd(e.Path))
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "row %s: ", quoteOdd(e.Key))
	}
	if e.Err != nil {
		b.WriteString(escapeOdd(e.Err.Error()))
	}
	return b.String()
}

// quoteOdd returns s as it is, or quoted with Go's escapes when it is not
// valid UTF-8 or holds a control character.
func quoteOdd(s string) string {
	if odd(s, "") {
		return strconv.Quote(s)
	}
	return s
}

// escapeOdd returns s with each byte that is not valid UTF-8 and each
// control character but newline and tab escaped as Go would quote it.
func escapeOdd(s string) string {
	if !odd(s, "\n\t") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) && r != '\n' && r != '\t':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// odd reports whether s is not valid UTF-8 or holds a control character
// other than those in allowed.
func odd(s, allowed string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !strings.ContainsRune(allowed, r)
	})
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
