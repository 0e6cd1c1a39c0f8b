package sqlsite

// What columns of its route's rows a template reads by name, so that a
// typo ({{.Row.titel}}) is a problem with file and line before any page
// renders, as a path naming a missing column is.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"github.com/bakehq/bake"

	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// colRef is a column a template reads by name from a row of its route:
// .Row.NAME (detail) or .NAME on an element of .Rows (list, archive); or
// from a row of a named query: .NAME on an element of .Data.QUERY.
type colRef struct {
	Col  string
	Rows bool   // read from an element of .Rows, not from .Row
	Data string // read from an element of .Data.Data: the query's name
	Loc  string // file:line:col of the action
}

// dotKind is what a template's dot (or a variable) holds, as far as the
// analysis can tell.
type dotKind int

const (
	dotOther    dotKind = iota // anything else: not followed
	dotPage                    // the PageData of the page
	dotRow                     // .Row, the detail route's row
	dotRows                    // .Rows, the rows of a list page
	dotRowsRow                 // one element of .Rows
	dotData                    // .Data, the named queries' rows
	dotDataRows                // .Data.NAME, one query's rows
	dotDataRow                 // one element of .Data.NAME
)

// dotVal is what a dot holds: its kind and, for the kinds of .Data.NAME,
// the query's name.
type dotVal struct {
	kind  dotKind
	query string
}

var other = dotVal{}

// elem is the kind of an element of v when v is ranged over.
func (v dotVal) elem() dotVal {
	switch v.kind {
	case dotRows:
		return dotVal{kind: dotRowsRow}
	case dotDataRows:
		return dotVal{dotDataRow, v.query}
	}
	return other
}

// rowColumns walks the templates reachable from name (executed with a
// PageData) and returns the row columns they read by name.
func rowColumns(t *template.Template, name string) []colRef {
	var refs []colRef
	seen := map[dotVal]map[string]bool{}
	var visit func(name string, dot dotVal)
	visit = func(name string, dot dotVal) {
		if dot.kind == dotOther || seen[dot][name] {
			return
		}
		if seen[dot] == nil {
			seen[dot] = map[string]bool{}
		}
		seen[dot][name] = true
		x := t.Lookup(name)
		if x == nil || x.Tree == nil {
			return
		}
		tree := x.Tree
		vars := map[string]dotVal{"$": dot}
		// field follows a chain of field names from k, recording a row's
		// column, and returns what it ends on.
		field := func(n parse.Node, k dotVal, idents []string) dotVal {
			for _, id := range idents {
				switch {
				case k.kind == dotPage && id == "Row":
					k = dotVal{kind: dotRow}
				case k.kind == dotPage && id == "Rows":
					k = dotVal{kind: dotRows}
				case k.kind == dotPage && id == "Data":
					k = dotVal{kind: dotData}
				case k.kind == dotData:
					k = dotVal{dotDataRows, id}
				case k.kind == dotRow || k.kind == dotRowsRow || k.kind == dotDataRow:
					loc, _ := tree.ErrorContext(n)
					refs = append(refs, colRef{Col: id, Rows: k.kind == dotRowsRow, Data: k.query, Loc: loc})
					k = other
				default:
					k = other
				}
			}
			return k
		}
		var walk func(n parse.Node, dot dotVal)
		// arg returns what a command's argument holds, walking it.
		var arg func(n parse.Node, dot dotVal) dotVal
		// pipe returns what a pipeline's value holds, walking it.
		pipe := func(p *parse.PipeNode, dot dotVal) dotVal {
			if p == nil {
				return other
			}
			k := other
			for i, c := range p.Cmds {
				k = other
				for _, a := range c.Args {
					ak := arg(a, dot)
					if len(c.Args) == 1 && i == len(p.Cmds)-1 {
						k = ak
					}
				}
				if len(c.Args) >= 3 {
					if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
						if s, ok := c.Args[1].(*parse.StringNode); ok {
							switch id.Ident {
							case "cache":
								visit(s.Text, arg(c.Args[2], dot))
							case "cacheEach":
								visit(s.Text, arg(c.Args[2], dot).elem())
							}
						}
					}
				}
			}
			return k
		}
		arg = func(n parse.Node, dot dotVal) dotVal {
			switch n := n.(type) {
			case *parse.DotNode:
				return dot
			case *parse.FieldNode:
				return field(n, dot, n.Ident)
			case *parse.VariableNode:
				return field(n, vars[n.Ident[0]], n.Ident[1:]) // other when not set
			case *parse.ChainNode:
				k := arg(n.Node, dot)
				if _, ok := n.Node.(*parse.PipeNode); ok {
					return field(n, k, n.Field)
				}
				return other
			case *parse.PipeNode:
				return pipe(n, dot)
			}
			return other
		}
		// declare sets the variables a pipeline declares.
		declare := func(p *parse.PipeNode, k dotVal) {
			if p == nil {
				return
			}
			for _, v := range p.Decl {
				vars[v.Ident[0]] = k
			}
		}
		walk = func(n parse.Node, dot dotVal) {
			switch n := n.(type) {
			case *parse.ListNode:
				if n == nil {
					return
				}
				for _, c := range n.Nodes {
					walk(c, dot)
				}
			case *parse.ActionNode:
				declare(n.Pipe, pipe(n.Pipe, dot))
			case *parse.IfNode:
				declare(n.Pipe, pipe(n.Pipe, dot))
				walk(n.List, dot)
				walk(n.ElseList, dot)
			case *parse.WithNode:
				k := pipe(n.Pipe, dot)
				declare(n.Pipe, k)
				walk(n.List, k)
				walk(n.ElseList, dot)
			case *parse.RangeNode:
				elem := pipe(n.Pipe, dot).elem()
				if n.Pipe != nil {
					switch len(n.Pipe.Decl) {
					case 1:
						vars[n.Pipe.Decl[0].Ident[0]] = elem
					case 2:
						vars[n.Pipe.Decl[0].Ident[0]] = other
						vars[n.Pipe.Decl[1].Ident[0]] = elem
					}
				}
				walk(n.List, elem)
				walk(n.ElseList, dot)
			case *parse.TemplateNode:
				k := other
				if n.Pipe != nil {
					k = pipe(n.Pipe, dot)
				}
				visit(n.Name, k)
			}
		}
		walk(tree.Root, dot)
	}
	visit(name, dotVal{kind: dotPage})
	return refs
}

// dataColumns knows the columns of the named queries whose rows templates
// read as .Data.NAME, for checkDataColumns: a site-wide query's once, a
// route's own (which hides a site-wide one of its name) when it has no
// parameter to bind.
type dataColumns struct {
	site     map[string][]string // [queries], those that ran
	reported map[string]bool     // site-wide queries' problems, reported once for all routes
}

// checkDataColumns reports each column that the templates of route r read
// by name from an element of .Data.NAME and query NAME does not return: a
// typo would render nothing, as in checkColumns.
func (s *Site) checkDataColumns(ctx context.Context, r *Route, rt *routeTemplate, dc *dataColumns) Problems {
	var probs Problems
	own := map[string][]string{}
	for _, ref := range rt.cols {
		if ref.Data == "" {
			continue
		}
		cols, ok := dc.site[ref.Data]
		key := ref.Loc + "\x00" + ref.Data + "\x00" + ref.Col
		if q, mine := r.Queries[ref.Data]; mine {
			if len(params(q)) > 0 {
				continue // its columns are known only with a row's values
			}
			if cols, ok = own[ref.Data]; !ok {
				c, err := s.db.columns(ctx, q)
				if err != nil {
					continue // reported by checkQueries
				}
				cols, ok = c, true
				own[ref.Data] = c
			}
			key = r.Name + "\x00" + key
		}
		if !ok || slices.Contains(cols, ref.Col) || dc.reported[key] {
			continue
		}
		dc.reported[key] = true
		file, line := ref.Loc, 0
		if f, rest, ok := strings.Cut(ref.Loc, ":"); ok {
			file = f
			l, _, _ := strings.Cut(rest, ":")
			line, _ = strconv.Atoi(l)
		}
		probs = append(probs, &bake.Error{File: filepath.Join(s.dir, s.cfg.Site.Templates, file), Line: line, Route: r.Name,
			Err: fmt.Errorf(".%s of a row of .Data.%s: query %q does not return column %q (it returns %s)", ref.Col, ref.Data, ref.Data, ref.Col, strings.Join(cols, ", "))})
	}
	return probs
}

// urlRef is a {{url "NAME" …}} call a template makes with a literal name.
type urlRef struct {
	Name string
	Loc  string // file:line:col of the call
}

// checkURLNames reports each {{url "NAME"}} in the templates of a route
// that names no route, or one without a path: it would fail on every
// page that shows it, and only once pages render. reported holds what
// was reported already, for the templates other routes share.
func (s *Site) checkURLNames(r *Route, rt *routeTemplate, reported map[string]bool) Problems {
	var probs Problems
	for _, ref := range rt.urls {
		key := "url\x00" + ref.Loc + "\x00" + ref.Name
		if reported[key] {
			continue
		}
		reported[key] = true
		var err error
		switch target := s.route(ref.Name); {
		case target == nil:
			var names []string
			for _, x := range s.cfg.Routes {
				if x.pattern != nil {
					names = append(names, x.Name)
				}
			}
			err = fmt.Errorf("{{url %q}}: no route named %q (the routes with a path: %s)", ref.Name, ref.Name, strings.Join(names, ", "))
		case target.pattern == nil:
			err = fmt.Errorf("{{url %q}}: route %q has no path", ref.Name, ref.Name)
		default:
			continue
		}
		file, line := ref.Loc, 0
		if f, rest, ok := strings.Cut(ref.Loc, ":"); ok {
			file = f
			l, _, _ := strings.Cut(rest, ":")
			line, _ = strconv.Atoi(l)
		}
		probs = append(probs, &bake.Error{File: filepath.Join(s.dir, s.cfg.Site.Templates, file), Line: line, Route: r.Name, Err: err})
	}
	return probs
}
