package template

// bake's tests (see internal/gotemplate/doc.go): compiled execution
// (texttemplate/bake_compile.go) against the interpreter, through
// html/template's escaping, and the plain forms of the escapers
// (bake_string.go) against the escapers.

import (
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strings"
	"testing"

	texttemplate "github.com/bakehq/bake/internal/gotemplate/texttemplate"
)

type compileItem struct {
	Title  string
	Slug   string
	Tags   []string
	Next   *compileItem
	hidden string
}

func (c compileItem) Upper() string         { return strings.ToUpper(c.Title) }
func (c *compileItem) Link(p string) string { return p + c.Slug }
func (c compileItem) Fail() (string, error) { return "", errors.New("fail " + c.Title) }

type compileRow map[string]any

type compilePage struct {
	Title string
	Row   compileRow
	Rows  []compileRow
	Items []compileItem
	Item  *compileItem
	Nil   *compileItem
	Any   any
	N     int
	On    bool
	Data  map[string][]compileRow
	Safe  HTML
	URL   URL
	compileEmbedded
}

type compileEmbedded struct {
	Deep string
}

func compileData(s, t string, n int) *compilePage {
	n = max(0, min(n, 12))
	it := &compileItem{Title: s, Slug: t, Tags: []string{s, t, "a&b"}, hidden: "x"}
	it.Next = &compileItem{Title: t, Slug: s}
	row := compileRow{"title": s, "slug": t, "n": n, "nil": nil, "html": HTML(s), "list": []any{s, n, nil}, "map": map[string]any{"k": t}}
	return &compilePage{
		Title: s,
		Row:   row,
		Rows:  []compileRow{row, {"title": t, "slug": s}},
		Items: []compileItem{*it, *it.Next},
		Item:  it,
		Any:   row,
		N:     n,
		On:    n%2 == 1,
		Data:  map[string][]compileRow{"categories": {{"category": s}, {"category": t}}},
		Safe:  HTML("<b>" + s + "</b>"),
		URL:   URL("https://example.org/?q=" + t),

		compileEmbedded: compileEmbedded{Deep: t},
	}
}

var compileFuncs = FuncMap{
	"upper": strings.ToUpper,
	"join":  func(sep string, xs ...any) string { return fmt.Sprint(xs...) + sep },
	"url": func(route string, args ...any) (string, error) {
		if route == "" {
			return "", errors.New("no route")
		}
		return "/" + route + "/" + fmt.Sprint(args...) + "/", nil
	},
	"markdown": func(s any) (HTML, error) { return HTML("<p>" + fmt.Sprint(s) + "</p>"), nil },
	"seq": func(n int) iter.Seq[int] {
		return func(yield func(int) bool) {
			for i := range n {
				if !yield(i) {
					return
				}
			}
		}
	},
	"boom": func() (string, error) { panic("boom") },
	"add":  func(a, b int) int { return a + b },
}

// compileTemplates are templates of the constructs bake's sites use and of
// those they could: every kind of node, of argument, of receiver, of
// escaping context, and errors.
var compileTemplates = []string{
	`<title>{{.Title}} · {{.Row.title}}</title><p>{{.Row.title}}</p>`,
	`<a href="/items/{{.Row.slug}}/" title="{{.Row.title}}">{{.Row.title | upper}}</a>`,
	`<a href="{{url "item" "slug" .Row.slug}}">{{url "" .Row.slug}}</a>`,
	`<img src="{{.URL}}" alt="{{.Safe}}">{{.Safe}}{{markdown .Row.title}}`,
	`{{range .Rows}}<li><a href="/{{.slug}}">{{.title}}</a></li>{{else}}none{{end}}`,
	`{{range $i, $r := .Rows}}{{$i}}={{$r.title}};{{$.Title}}{{end}}`,
	`{{range .Items}}{{.Title}} {{.Upper}} {{.Link "/p/"}} {{.Next}}{{end}}`,
	`{{range .Data.categories}}<li>{{.category}}</li>{{end}}`,
	`{{range $k, $v := .Row}}{{$k}}:{{$v}},{{end}}`,
	`{{range .N}}{{.}}{{if eq . 3}}{{break}}{{end}}{{end}}|{{range seq .N}}{{if lt . 2}}{{continue}}{{end}}{{.}}{{end}}`,
	`{{with .Item}}{{.Title}}{{with .Next}}/{{.Title}}{{end}}{{else}}no{{end}}`,
	`{{with .Nil}}{{.Title}}{{else with .Item}}{{.Slug}}{{end}}`,
	`{{if and .On .Title}}yes{{else if or .N .Row.nil}}maybe{{else}}no{{end}}`,
	`{{if not .On}}{{.N | printf "%03d"}}{{end}}{{len .Rows}}{{index .Rows 0 "title"}}`,
	`{{$x := .Row.title}}{{$x = upper $x}}{{$x}}{{$y := .Row}}{{$y.slug}}`,
	`{{.Row.missing}}|{{.Row.nil}}|{{.Row.n}}|{{.Row.list}}|{{.Row.map.k}}|{{.Any.title}}`,
	`{{.Nil.Title}}`,
	`{{.Item.hidden}}`,
	`{{.Nope}}`,
	`{{.Title.Foo}}`,
	`{{.Item.Fail}}`,
	`{{boom}}`,
	`{{.Deep}}{{.compileEmbedded.Deep}}`,
	`{{call .Title}}`,
	`{{join "," .Title .N .Row.title}}{{add .N 1}}{{add .N "x"}}`,
	`<script>var t = {{.Title}}; var r = {{.Row}}; var s = "{{.Row.slug}}";</script>`,
	`<style>p { color: {{.Row.slug}}; } a[href="{{.Title}}"] {}</style>`,
	`<a onclick="go({{.Title}})" style="width: {{.N}}px" href="javascript:{{.Row.slug}}">x</a>`,
	`<a href="?q={{.Title}}&r={{.Row.slug}}">{{.Title}}</a><a href={{.Title}}>u</a>`,
	`<input {{.Row.slug}}="{{.Title}}" value={{.Row.title}}><textarea>{{.Title}}</textarea>`,
	`<!-- {{.Title}} -->{{/* comment */}}<img srcset="{{.Title}} 1x, {{.Row.slug}} 2x">`,
	`{{define "T"}}<b>{{.}}</b>{{end}}{{template "T" .Title}}{{template "T" .Row.slug}}{{block "B" .}}[{{.N}}]{{end}}`,
	`{{define "R"}}{{if .}}{{.Title}}{{template "R" .Next}}{{end}}{{end}}{{template "R" .Item}}`,
	`{{template "missing" .}}`,
	`{{printf "%q %v" .Title .N}}{{html .Title}}{{js .Title}}{{urlquery .Title}}{{print .Title .N}}`,
	`{{(.Item).Title}}{{(index .Rows 1).title}}{{.Item.Link .Row.slug}}`,
	`<p title={{.Row.title}}>{{.Row.title}}</p>{{.Title | html}}`,
}

// runBoth executes src on data compiled and interpreted; it reports the
// two outputs and errors.
func runBoth(t testing.TB, src string, data any) (compiled, interpreted string, cerr, ierr error, ok bool) {
	tmpl, err := New("t").Funcs(compileFuncs).Parse(src)
	if err != nil {
		return "", "", nil, nil, false
	}
	exec := func(on bool) (string, error) {
		defer texttemplate.SetCompiled(texttemplate.SetCompiled(on))
		var b strings.Builder
		err := tmpl.Execute(&b, data)
		return b.String(), err
	}
	// Interpreted first: the compiled form is made at the first compiled run.
	interpreted, ierr = exec(false)
	compiled, cerr = exec(true)
	// And a second compiled run, with the caches of the first.
	again, aerr := exec(true)
	if again != compiled || fmt.Sprint(aerr) != fmt.Sprint(cerr) {
		t.Errorf("%q: a second compiled run differs: %q, %v; first %q, %v", src, again, aerr, compiled, cerr)
	}
	return compiled, interpreted, cerr, ierr, true
}

func TestCompiledMatchesInterpreter(t *testing.T) {
	for _, data := range []any{
		compileData("Café <b>&amp; \"q\"", "a b/c?d=e&f", 5),
		compileData("", "", 0),
		compileData("javascript:alert(1)", "\x00\x0b\u2028", 3),
		map[string]any{"Title": "map dot", "Row": map[string]any{"title": 1}},
		nil,
	} {
		for _, src := range compileTemplates {
			got, want, gerr, werr, ok := runBoth(t, src, data)
			if !ok {
				t.Fatalf("%q does not parse", src)
			}
			if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%q on %T:\ncompiled    %q, %v\ninterpreted %q, %v", src, data, got, gerr, want, werr)
			}
		}
	}
}

var bigNumber = regexp.MustCompile(`[0-9]{3}`)

// FuzzCompiledMatchesInterpreter runs templates, and data, made by the
// fuzzer both ways: the same bytes and the same error, or the same parse
// error.
func FuzzCompiledMatchesInterpreter(f *testing.F) {
	for _, src := range compileTemplates {
		f.Add(src, "Café <b>&amp;", "a b/c?d", 3)
	}
	f.Fuzz(func(t *testing.T, src, s, u string, n int) {
		if len(src) > 400 || bigNumber.MatchString(src) || strings.Count(src, "template") > 1 {
			t.Skip() // no loops of a billion, no unbounded recursion
		}
		got, want, gerr, werr, ok := runBoth(t, src, compileData(s, u, n))
		if !ok {
			return
		}
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%q:\ncompiled    %q, %v\ninterpreted %q, %v", src, got, gerr, want, werr)
		}
	})
}

// FuzzStringEscapers checks that the plain form of each escaper is the
// escaper on a string.
func FuzzStringEscapers(f *testing.F) {
	for _, s := range []string{"", "a", "<b>&amp;\"'`=", "javascript:x", "HTTP://a/b c?d=é#f", "\x00\x0b\u2028\uFFFD", "onclick", "Style", "xlink:href", "a-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, e := range stringEscapers {
			if got, want := e.plain(s), e.escaper(s); got != want {
				t.Errorf("escaper %d on %q: plain form %q, escaper %q", i, s, got, want)
			}
		}
	})
}
