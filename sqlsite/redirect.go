package sqlsite

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
	"github.com/bakehq/bake/internal/sqlscan"
)

// redirects renders redirect pages: an HTML page with a meta refresh and a
// canonical link, recorded with its target so publish can set object redirects.
func (b *buildRun) redirects(r *Route) bool {
	type move struct{ from, to, key string }
	var moves []move
	var deps []bake.Dep
	froms := make([]string, 0, len(r.Redirects))
	for f := range r.Redirects {
		froms = append(froms, f)
	}
	slices.Sort(froms)
	// A redirect's row key is its source path, unless its query returns
	// the route's key column.
	for _, f := range froms {
		moves = append(moves, move{f, r.Redirects[f], f})
	}
	if r.Query != "" {
		for _, t := range sqlscan.Tables(r.Query) {
			deps = append(deps, bake.TableDep(t))
		}
		err := b.stream(r, ordered(r, "", ""), nil, func(row Row) bool {
			from := text(row["source"])
			key := from
			if r.keyCol {
				key = keyString(row[r.Key])
			}
			moves = append(moves, move{from, text(row["target"]), key})
			return true
		})
		if err != nil {
			return b.fail(r, "", "", err)
		}
	}
	for _, m := range moves {
		if _, err := bake.FileName(m.from); err != nil {
			if !b.fail(r, m.from, m.key, fmt.Errorf("redirect source: %w", err)) {
				return false
			}
			continue
		}
		if m.to == "" {
			if !b.fail(r, m.from, m.key, fmt.Errorf("redirect has no target")) {
				return false
			}
			continue
		}
		target := m.to
		href := target
		if strings.HasPrefix(target, "/") {
			href = bake.EscapePath(target)
		}
		canonical := b.site.funcs.absurl(href)
		page := &bake.Page{
			Path: m.from, Route: r.Name, Key: m.key, Redirect: target, Deps: bake.SortDeps(slices.Clone(deps)),
			Render: func(ctx context.Context, w io.Writer) error {
				return redirectHTML.Execute(w, map[string]string{"Href": href, "Canonical": canonical})
			},
		}
		if !b.emit(page) {
			return false
		}
	}
	return true
}

var redirectHTML = template.Must(template.New("redirect").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redirecting…</title>
<link rel="canonical" href="{{.Canonical}}">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={{.Href}}">
</head><body><p>This page has moved to <a href="{{.Href}}">{{.Href}}</a>.</p></body></html>
`))
