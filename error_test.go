package bake

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestErrorText: a problem's text is safe to print: a path, key or file
// that is not valid UTF-8 (or holds a control character) is quoted, and
// such bytes in the cause, a row's value quoted in a message, are escaped.
func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Error
		want string
	}{
		{"plain", Error{File: "item.html", Line: 3, Route: "item", Path: "/items/café/", Key: "42", Err: errors.New("boom")},
			`item.html:3: route "item": page /items/café/: row 42: boom`},
		{"multi-line cause", Error{Route: "item", Err: errors.New("failed:\n\tdetail")},
			"route \"item\": failed:\n\tdetail"},
		{"path not UTF-8", Error{Route: "item", Path: "/items/caf\xe9/", Err: errors.New("boom")},
			`route "item": page "/items/caf\xe9/": boom`},
		{"key not UTF-8", Error{Key: "k\xff", Err: errors.New("boom")},
			`row "k\xff": boom`},
		{"file not UTF-8", Error{File: "t\xfe.html", Line: 1, Err: errors.New("boom")},
			`"t\xfe.html":1: boom`},
		{"path with a control character", Error{Path: "/a\x1b[31m/", Err: errors.New("boom")},
			`page "/a\x1b[31m/": boom`},
		{"value not UTF-8 in the cause", Error{Key: "1", Err: errors.New("date: caf\xe9 (string) is not a time")},
			`row 1: date: caf\xe9 (string) is not a time`},
		{"truncated rune in the cause", Error{Err: errors.New("value \xe2\x82 ends")},
			`value \xe2\x82 ends`},
		{"terminal escape in the cause", Error{Err: errors.New("value \x1b]0;pwned\x07 \u0085")},
			`value \x1b]0;pwned\a \u0085`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.e.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}
