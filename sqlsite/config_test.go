package sqlsite

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const validHead = `[site]
title = "t"
base_url = "https://x.example"
[database]
url = "x.db"
`

func TestParseConfigProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []string // each must appear in the error, in order
	}{
		{"unknown key", validHead + "[[route]]\nkind = \"page\"\npath = \"/\"\ntemplate = \"a.html\"\ntemplat = \"b\"\n",
			[]string{"bake.toml:10: unknown key \"route.templat\""}},
		{"wrong type", validHead + "[[route]]\nkind = \"list\"\nper_page = \"ten\"\n",
			[]string{"bake.toml:8:"}},
		{"no template", validHead + "[[route]]\nname = \"items\"\nkind = \"list\"\npath = \"/items/\"\nquery = \"SELECT * FROM items\"\n",
			[]string{"bake.toml:6: route \"items\": a list route needs template"}},
		{"unknown kind", validHead + "[[route]]\nkind = \"blog\"\n",
			[]string{`bake.toml:7: route "#1": unknown kind "blog"`}},
		{"detail without column", validHead + "[[route]]\nname = \"item\"\nkind = \"detail\"\npath = \"/items/\"\nquery = \"SELECT * FROM items\"\ntemplate = \"i.html\"\n",
			[]string{"bake.toml:9: route \"item\": path \"/items/\": a detail route makes one page per row"}},
		{"group without placeholder", validHead + "[[route]]\nname = \"c\"\nkind = \"list\"\npath = \"/c/\"\ngroup_by = \"cat\"\nquery = \"SELECT * FROM items\"\ntemplate = \"l.html\"\n",
			[]string{"needs {cat} in its path"}},
		{"several at once", validHead + "[[route]]\nname = \"a\"\nkind = \"page\"\n[[route]]\nname = \"a\"\nkind = \"feed\"\npath = \"/f.xml\"\n",
			[]string{"route \"a\": a page route needs template", "route \"a\": a page route needs path", "two routes are named \"a\"", "a feed route needs query", "a feed route needs link"}},
		{"archive path", validHead + "[[route]]\nname = \"ar\"\nkind = \"archive\"\npath = \"/archive/{month}/\"\ndate = \"d\"\nquery = \"SELECT * FROM items\"\ntemplate = \"a.html\"\n",
			[]string{"an archive path takes {year}, {year}/{month} or {year}/{month}/{day}"}},
		{"feed needs base_url", "[[route]]\nkind = \"sitemap\"\n",
			[]string{"set base_url"}},
		{"bad pattern", validHead + "[[route]]\nname = \"d\"\nkind = \"detail\"\npath = \"/items/{slug/\"\nquery = \"SELECT * FROM items\"\ntemplate = \"d.html\"\n",
			[]string{"bake.toml:9: route \"d\": path \"/items/{slug/\": has a { without }"}},
		{"dot segment", validHead + "[[route]]\nkind = \"page\"\npath = \"/../x/\"\ntemplate = \"p.html\"\n",
			[]string{"has an empty, . or .. segment"}},
		{"template unused", validHead + "[[route]]\nkind = \"sitemap\"\ntemplate = \"s.html\"\n",
			[]string{"template is not used by a sitemap route"}},
		{"several wrong types", validHead + "[[route]]\nname = \"l\"\nkind = \"list\"\npath = \"/l/\"\nper_page = \"ten\"\ntitle = 5\ncolour = 1\n",
			[]string{"bake.toml:10: route.per_page: a TOML string, where bake.toml wants an integer", "bake.toml:11: route.title: a TOML integer, where bake.toml wants a string", `bake.toml:12: unknown key "route.colour"`}},
		{"group_by on a detail route", validHead + "[[route]]\nname = \"d\"\nkind = \"detail\"\npath = \"/items/{slug}/\"\ngroup_by = \"cat\"\nquery = \"SELECT * FROM items\"\ntemplate = \"d.html\"\n",
			[]string{`bake.toml:10: route "d": group_by is not used by a detail route, which makes one page per row: for one page per cat, use a list route with group_by = "cat"`}},
		{"wrong type, not also missing", validHead + "[[route]]\nname = \"p\"\nkind = \"page\"\npath = \"/\"\ntemplate = 3\n[[route]]\nkind = 3\n[[route]]\nname = \"r\"\nkind = \"redirect\"\nredirects = { \"/a/\" = 1 }\n",
			[]string{"bake.toml:10: route.template: a TOML integer", "bake.toml:12: route.kind: a TOML integer", "bake.toml:16: route.redirects"}},
		{"bad markdown limits", validHead + "[markdown]\nmax_size = -1\nmax_depth = -2\ntimeout = \"soon\"\n",
			[]string{"bake.toml:7: markdown.max_size must be zero", "bake.toml:8: markdown.max_depth must be zero", `bake.toml:9: markdown.timeout "soon": use a duration such as "1s" or "500ms"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("bake.toml", []byte(tt.toml))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error does not contain %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig("bake.toml", []byte(validHead+"[[route]]\nkind = \"page\"\npath = \"/about/\"\ntemplate = \"a.html\"\n[[route]]\nkind = \"feed\"\nformat = \"atom\"\nquery = \"SELECT * FROM posts p JOIN x ON 1\"\nlink = \"/p/{slug}/\"\n[[route]]\nkind = \"notfound\"\ntemplate = \"404.html\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routes
	if r[0].Name != "about" || r[1].Name != "atom" || r[1].Path != "/atom.xml" || r[1].Table != "posts" || r[2].Path != "/404.html" || cfg.Site.Output != "_site" {
		t.Errorf("defaults not applied: %+v", r)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(validHead + "[[route]]\nkind = \"page\"\npath = \"/\"\ntemplate = \"a.html\"\n"))
	f.Add([]byte("[[route]]\nkind = \"detail\"\npath = \"/{a}{b}/\"\n"))
	f.Add([]byte("[site]\nbase_url = 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("bake.toml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, r := range cfg.Routes {
			if r.Name == "" || r.Kind == "" {
				t.Fatalf("accepted route without name or kind: %+v", r)
			}
		}
	})
}

func TestPatternFill(t *testing.T) {
	t.Parallel()
	p, err := parsePattern("/items/{id}-{slug}/")
	if err != nil {
		t.Fatal(err)
	}
	row := Row{"id": int64(7), "slug": "a-b"}
	got, err := p.fill(func(k string) (any, bool) { v, ok := row[k]; return v, ok })
	if err != nil || got != "/items/7-a-b/" {
		t.Fatalf("fill = %q, %v", got, err)
	}
	for _, bad := range []any{"../x", "a/b", "", nil, "..", "a\x00"} {
		if _, err := p.fill(func(k string) (any, bool) { return bad, true }); err == nil {
			t.Errorf("fill with %q succeeded", bad)
		}
	}
}

func TestBind(t *testing.T) {
	t.Parallel()
	row := Row{"id": int64(3), "tag": "x"}
	get := func(k string) (any, bool) { v, ok := row[k]; return v, ok }
	tests := []struct {
		dialect, in, want string
		args              int
	}{
		{SQLite, "SELECT * FROM t WHERE tag = :tag AND id <> :id AND x = ':no' -- :nope\n AND y = :tag", "SELECT * FROM t WHERE tag = ?1 AND id <> ?2 AND x = ':no' -- :nope\n AND y = ?1", 2},
		{Postgres, "SELECT a::text FROM t WHERE id = :id", "SELECT a::text FROM t WHERE id = $1", 1},
	}
	for _, tt := range tests {
		d := &db{dialect: tt.dialect}
		got, args, err := d.bind(tt.in, get)
		if err != nil || got != tt.want || len(args) != tt.args {
			t.Errorf("bind(%q) = %q, %v, %v; want %q", tt.in, got, args, err, tt.want)
		}
	}
	d := &db{dialect: SQLite}
	if _, _, err := d.bind("SELECT :missing", get); err == nil || !strings.Contains(err.Error(), ":missing") {
		t.Errorf("missing parameter: %v", err)
	}
}

// TestParseConfigOneProblemEach: a value of the wrong type is reported once,
// and not again as a missing key; a value go-toml places on a header line
// stops the decoding there, without keys moved out of their table.
func TestParseConfigOneProblemEach(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, toml string
		want       int // problems
	}{
		{"template", validHead + "[[route]]\nname = \"p\"\nkind = \"page\"\npath = \"/\"\ntemplate = 3\n", 1},
		{"kind", validHead + "[[route]]\nkind = 3\n", 1},
		{"redirects", validHead + "[[route]]\nname = \"r\"\nkind = \"redirect\"\nredirects = { \"/a/\" = 1 }\n", 1},
		{"nested array", "[[route]]\nkind = \"sitemap\"\nexclude = [[\"/a/\"]]\n", 1},
		{"nested array in a table", "[site]\ntitle = \"t\"\nbase_url = \"https://example.org\"\n[[route]]\nkind = \"sitemap\"\nexclude = [[\"/a/\"]]\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("bake.toml", []byte(tt.toml))
			var probs Problems
			if !errors.As(err, &probs) || len(probs) != tt.want {
				t.Errorf("got %d problems, want %d:\n%v", len(probs), tt.want, err)
			}
		})
	}
}

// TestUnknownKeysOnce checks that each unknown key is one problem, with
// its line: go-toml reports them all in one error, which unwraps to one
// error per key (they were taken for values of the wrong type, and N
// keys made N(N+1)/2 problems).
func TestUnknownKeysOnce(t *testing.T) {
	t.Parallel()
	route := "[[route]]\nkind = \"page\"\npath = \"/\"\ntemplate = \"a.html\"\n"
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"one", validHead + route + "templat = 1\n", []string{
			`bake.toml:10: unknown key "route.templat"; see docs/config.md for the keys bake.toml takes`}},
		{"three in three tables", "[site]\ntitle = \"t\"\nfoo = 1\n[markdown]\nmax_size = 9\nbar = 2\n" + route + "baz = 3\n", []string{
			`bake.toml:3: unknown key "site.foo"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:6: unknown key "markdown.bar"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:11: unknown key "route.baz"; see docs/config.md for the keys bake.toml takes`}},
		{"four in one route, with a wrong type", validHead + route + "a = 1\nb = 2\nper_page = \"x\"\nc = 3\nd = 4\n", []string{
			`bake.toml:10: unknown key "route.a"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:11: unknown key "route.b"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:12: route.per_page: a TOML string, where bake.toml wants an integer`,
			`bake.toml:13: unknown key "route.c"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:14: unknown key "route.d"; see docs/config.md for the keys bake.toml takes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("bake.toml", []byte(tt.toml))
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("got %v, want problems", err)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
