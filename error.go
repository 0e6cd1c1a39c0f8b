package bake

import (
	"fmt"
	"strings"
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
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Route != "" {
		fmt.Fprintf(&b, "route %q: ", e.Route)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, "page %s: ", e.Path)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "row %s: ", e.Key)
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
