package sqlsite

import (
	"testing"

	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// TestRowsFragment: a page's rows may be spliced only when its template
// writes them through one cacheEach and reads them, or hands the page, in
// no other way.
func TestRowsFragment(t *testing.T) {
	const shared = `{{define "row"}}<li>{{.title}}</li>{{end}}` +
		`{{define "rows"}}<ol>{{cacheEach "row" .}}</ol>{{end}}` +
		`{{define "other"}}<li>{{.}}</li>{{end}}`
	for _, tc := range []struct {
		name, text, want string
	}{
		{"direct", `<h1>{{.Pager.Number}}</h1><ul>{{cacheEach "row" .Rows}}</ul>`, "row"},
		{"through a template", `<h1>x</h1>{{template "rows" .Rows}}`, "row"},
		{"through $", `{{with .Pager}}{{.Number}}{{end}}<ul>{{cacheEach "row" $.Rows}}</ul>`, "row"},
		{"in a frame condition", `{{if gt .Pager.Number 1}}<ul>{{cacheEach "row" .Rows}}</ul>{{end}}`, "row"},
		{"a page variable", `{{$p := .}}<ul>{{cacheEach "row" $p.Rows}}</ul>`, "row"},
		{"base template with the page", `{{define "base"}}<main>{{block "content" .}}{{end}}</main>{{end}}{{template "base" .}}{{define "content"}}{{cacheEach "row" .Rows}}{{end}}`, "row"},
		{"range", `<ul>{{range .Rows}}<li>{{.title}}</li>{{end}}</ul>`, ""},
		{"len", `{{len .Rows}} <ul>{{cacheEach "row" .Rows}}</ul>`, ""},
		{"if rows", `{{if .Rows}}<ul>{{cacheEach "row" .Rows}}</ul>{{end}}`, ""},
		{"with rows", `{{with .Rows}}<ul>{{cacheEach "row" .}}</ul>{{end}}`, ""},
		{"two fragments", `{{cacheEach "row" .Rows}}{{cacheEach "other" .Rows}}`, ""},
		{"rows in a variable", `{{$r := .Rows}}{{cacheEach "row" $r}}`, ""},
		{"page printed", `{{.}}{{cacheEach "row" .Rows}}`, ""},
		{"page to a function", `{{printf "%v" .}}{{cacheEach "row" .Rows}}`, ""},
		{"rows to a function", `{{index .Rows 0}}{{cacheEach "row" .Rows}}`, ""},
		{"rows piped", `{{.Rows | len}}{{cacheEach "row" .Rows}}`, ""},
		{"rows to another template", `{{template "other" .Rows}}{{cacheEach "row" .Rows}}`, ""},
		{"no cacheEach", `<h1>{{.Pager.Number}}</h1>`, ""},
		{"cacheEach of something else", `{{cacheEach "row" .Data.latest}}`, ""},
		{"in an attribute", `<p title="{{cacheEach "row" .Rows}}">x</p>`, ""},
		{"in a script", `<script>var x = {{cacheEach "row" .Rows}};</script>`, ""},
		{"a page variable shadowed", `{{$p := .}}{{with .Site}}{{$p := .Title}}{{end}}{{len $p.Rows}}<ul>{{cacheEach "row" .Rows}}</ul>`, ""},
		{"a range variable shadowing", `{{$p := .}}{{range $i, $p := .Data.x}}{{end}}{{len $p.Rows}}{{cacheEach "row" .Rows}}`, ""},
		{"a variable assigned", `{{$p := .Pager}}{{$p = .}}{{len $p.Rows}}{{cacheEach "row" .Rows}}`, ""},
		{"a variable in a body", `{{with .Pager}}{{$n := .Number}}{{$n}}{{end}}<ul>{{cacheEach "row" .Rows}}</ul>`, "row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			funcs := template.FuncMap{"cacheEach": func(string, any) string { return "" }}
			tm := template.Must(template.Must(template.New("page").Funcs(funcs).Parse(shared)).Parse(tc.text))
			if err := tm.Escape(); err != nil { // as analyse does
				t.Fatal(err)
			}
			if got := rowsFragment(tm, "page"); got != tc.want {
				t.Errorf("rowsFragment(%s) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}
