package sqlsite_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
)

// TestTemplateFuncs: the template functions render what they should, and a
// call they cannot honour (a negative length, an overflow, a number given
// as Markdown) is a problem naming the template and its line, never a
// silently wrong page.
func TestTemplateFuncs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, call string
		want       string // the page, when the call succeeds
		err        string // the problem's message, at t.html:2, when it fails
	}{
		{name: "truncate", call: `{{truncate 9 .Row.body}}`, want: "Hello…"},
		{name: "truncate zero", call: `{{truncate 0 .Row.body}}`, want: "…"},
		{name: "truncate longer than text", call: `{{truncate 99 .Row.body}}`, want: "Hello, big world"},
		{name: "truncate number", call: `{{truncate 2 .Row.n}}`, want: "42"},
		{name: "truncate null", call: `{{truncate 2 .Row.none}}`, want: ""},
		{name: "truncate negative", call: `{{truncate -5 .Row.body}}`, err: "truncate: length -5 is negative"},
		{name: "truncate a row", call: `{{truncate 5 .Row}}`, err: "truncate: the value is a sqlsite.Row, not text"},
		{name: "add", call: `{{add 40 2}}`, want: "42"},
		{name: "add negative", call: `{{add -9223372036854775807 -1}}`, want: "-9223372036854775808"},
		{name: "add to max", call: `{{add 9223372036854775806 1}}`, want: "9223372036854775807"},
		{name: "add overflow", call: `{{add 9223372036854775807 1}}`, err: "add: 9223372036854775807 + 1 overflows an integer"},
		{name: "add underflow", call: `{{add -9223372036854775808 -1}}`, err: "add: -9223372036854775808 + -1 overflows an integer"},
		{name: "sub", call: `{{sub 44 2}}`, want: "42"},
		{name: "sub to min", call: `{{sub -9223372036854775807 1}}`, want: "-9223372036854775808"},
		{name: "sub min from -1", call: `{{sub -1 -9223372036854775808}}`, want: "9223372036854775807"},
		{name: "sub overflow", call: `{{sub 0 -9223372036854775808}}`, err: "sub: 0 - -9223372036854775808 overflows an integer"},
		{name: "sub underflow", call: `{{sub -9223372036854775808 1}}`, err: "sub: -9223372036854775808 - 1 overflows an integer"},
		{name: "markdown", call: `{{markdown .Row.body}}`, want: "<p>Hello, big world</p>\n"},
		{name: "markdown null", call: `{{markdown .Row.none}}`, want: ""},
		{name: "markdown constant", call: `{{markdown 42}}`, err: "markdown: the value is a int, not text"},
		{name: "markdown column", call: `{{markdown .Row.n}}`, err: "markdown: the value is a int64, not text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSite(t, map[string]string{
				"bake.toml": `[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT id, n, body, NULL AS none FROM items"
template = "t.html"
`,
				"seed.sql":         `CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER, body TEXT); INSERT INTO items VALUES (1, 42, 'Hello, big world');`,
				"templates/t.html": "{{/* line 1 */ -}}\n" + tc.call,
			})
			rep, err := buildSite(t, sqlsite.SQLite, dir, openDB(t, sqlsite.SQLite, dir))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := os.ReadFile(filepath.Join(dir, "_site", "items", "1", "index.html"))
				if diff := cmp.Diff(tc.want, string(got)); diff != "" {
					t.Errorf("page (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, build.ErrProblems) || len(rep.Problems) != 1 {
				t.Fatalf("err = %v; want one problem", err)
			}
			p := rep.Problems[0]
			if p.File != "t.html" || p.Line != 2 || !strings.Contains(p.Error(), tc.err) {
				t.Errorf("problem = %v (file %q, line %d); want t.html:2 with %q", p, p.File, p.Line, tc.err)
			}
		})
	}
}
