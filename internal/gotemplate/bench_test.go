package gotemplate

import (
	"bytes"
	stdtemplate "html/template"
	"io"
	"strings"
	"testing"
	"time"

	forktemplate "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// benchPage is a detail page shaped like the bench site's (see
// internal/benchsite): a layout, a sidebar of 20 links, a dated body and
// related links, with the kinds of calls bake's templates make (escapers on
// every action, a date, a string function).
const benchPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{.Title}} · {{.Site}}</title><link rel="stylesheet" href="/css/site.css"></head>
<body><header><a href="/">{{.Site}}</a></header>
<nav>{{range .Categories}}<a href="/categories/{{.}}/">{{upper .}}</a> {{end}}</nav>
<main><article><h1>{{.Title}}</h1>
<p><time datetime="{{date "2006-01-02" .Updated}}">{{date "2 Jan 2006" .Updated}}</time>
in <a href="/categories/{{.Category}}/" title="{{.Category}}">{{.Category}}</a></p>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}</article>
<ul>{{range .Related}}<li><a href="/items/{{.Slug}}/">{{.Title}}</a></li>{{end}}</ul></main>
<footer>{{.Site}} · <a href="/feed.xml">RSS</a></footer></body></html>`

type benchLink struct{ Slug, Title string }

type benchData struct {
	Site, Title, Category string
	Updated               time.Time
	Categories            []string
	Paragraphs            []string
	Related               []benchLink
}

var benchFuncs = map[string]any{
	"upper": strings.ToUpper,
	"date":  func(layout string, t time.Time) string { return t.Format(layout) },
}

func newBenchData() benchData {
	d := benchData{
		Site: "Bench & co", Title: "Cache purge static flat 42", Category: "alpha",
		Updated:    time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC),
		Categories: strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango"),
	}
	for i := range 8 {
		d.Paragraphs = append(d.Paragraphs, strings.Repeat("Static sites <fast> & \"cheap\" to serve. ", 5+i))
	}
	for i := range 5 {
		d.Related = append(d.Related, benchLink{Slug: "item-" + strings.Repeat("1", i+1), Title: "Related item"})
	}
	return d
}

// BenchmarkExecute renders benchPage with the standard library's
// html/template and with bake's copy: the copy's gain on one page. It is the
// quick half of the exit plan's measure (see UPSTREAM); the other half is a
// full build of the bench site with each.
//
//	go test -run '^$' -bench Execute -count 10 ./internal/gotemplate
func BenchmarkExecute(b *testing.B) {
	data := newBenchData()
	std := stdtemplate.Must(stdtemplate.New("page").Funcs(stdtemplate.FuncMap(benchFuncs)).Parse(benchPage))
	fork := forktemplate.Must(forktemplate.New("page").Funcs(forktemplate.FuncMap(benchFuncs)).Parse(benchPage))
	var a, c bytes.Buffer
	if err := std.Execute(&a, data); err != nil {
		b.Fatal(err)
	}
	if err := fork.Execute(&c, data); err != nil {
		b.Fatal(err)
	}
	if a.String() != c.String() {
		b.Fatalf("the copy renders other bytes than html/template:\n%s\n---\n%s", c.String(), a.String())
	}
	run := func(exec func(io.Writer, any) error) func(*testing.B) {
		return func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := exec(&buf, data); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("std", run(std.Execute))
	b.Run("fork", run(fork.Execute))
}
