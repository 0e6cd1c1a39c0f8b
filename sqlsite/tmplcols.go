package sqlsite

// What columns of its route's rows a template reads by name, so that a
// typo ({{.Row.titel}}) is a problem with file and line before any page
// renders, as a path naming a missing column is.

import (
	"text/template/parse"

	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// colRef is a column a template reads by name from a row of its route:
// .Row.NAME (detail) or .NAME on an element of .Rows (list, archive).
type colRef struct {
	Col  string
	Rows bool   // read from an element of .Rows, not from .Row
	Loc  string // file:line:col of the action
}

// dotKind is what a template's dot (or a variable) holds, as far as the
// analysis can tell.
type dotKind int

const (
	dotOther   dotKind = iota // anything else: not followed
	dotPage                   // the PageData of the page
	dotRow                    // .Row, the detail route's row
	dotRows                   // .Rows, the rows of a list page
	dotRowsRow                // one element of .Rows
)

// rowColumns walks the templates reachable from name (executed with a
// PageData) and returns the row columns they read by name.
func rowColumns(t *template.Template, name string) []colRef {
	var refs []colRef
	seen := map[string]bool{}
	var visit func(name string, dot dotKind)
	visit = func(name string, dot dotKind) {
		key := string(rune('0'+dot)) + name
		if dot == dotOther || seen[key] {
			return
		}
		seen[key] = true
		x := t.Lookup(name)
		if x == nil || x.Tree == nil {
			return
		}
		tree := x.Tree
		vars := map[string]dotKind{"$": dot}
		// field follows a chain of field names from kind k, recording a
		// row's column, and returns the kind it ends on.
		field := func(n parse.Node, k dotKind, idents []string) dotKind {
			for _, id := range idents {
				switch {
				case k == dotPage && id == "Row":
					k = dotRow
				case k == dotPage && id == "Rows":
					k = dotRows
				case k == dotRow || k == dotRowsRow:
					loc, _ := tree.ErrorContext(n)
					refs = append(refs, colRef{Col: id, Rows: k == dotRowsRow, Loc: loc})
					k = dotOther
				default:
					k = dotOther
				}
			}
			return k
		}
		var walk func(n parse.Node, dot dotKind)
		// arg returns the kind of a command's argument, walking it.
		var arg func(n parse.Node, dot dotKind) dotKind
		// pipe returns the kind of a pipeline's value, walking it.
		pipe := func(p *parse.PipeNode, dot dotKind) dotKind {
			if p == nil {
				return dotOther
			}
			k := dotOther
			for i, c := range p.Cmds {
				k = dotOther
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
								if arg(c.Args[2], dot) == dotRows {
									visit(s.Text, dotRowsRow)
								}
							}
						}
					}
				}
			}
			return k
		}
		arg = func(n parse.Node, dot dotKind) dotKind {
			switch n := n.(type) {
			case *parse.DotNode:
				return dot
			case *parse.FieldNode:
				return field(n, dot, n.Ident)
			case *parse.VariableNode:
				k, ok := vars[n.Ident[0]]
				if !ok {
					k = dotOther
				}
				return field(n, k, n.Ident[1:])
			case *parse.ChainNode:
				k := arg(n.Node, dot)
				if _, ok := n.Node.(*parse.PipeNode); ok {
					return field(n, k, n.Field)
				}
				return dotOther
			case *parse.PipeNode:
				return pipe(n, dot)
			}
			return dotOther
		}
		// declare sets the variables a pipeline declares.
		declare := func(p *parse.PipeNode, k dotKind) {
			if p == nil {
				return
			}
			for _, v := range p.Decl {
				vars[v.Ident[0]] = k
			}
		}
		walk = func(n parse.Node, dot dotKind) {
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
				k := pipe(n.Pipe, dot)
				elem := dotOther
				if k == dotRows {
					elem = dotRowsRow
				}
				if n.Pipe != nil {
					switch len(n.Pipe.Decl) {
					case 1:
						vars[n.Pipe.Decl[0].Ident[0]] = elem
					case 2:
						vars[n.Pipe.Decl[0].Ident[0]] = dotOther
						vars[n.Pipe.Decl[1].Ident[0]] = elem
					}
				}
				walk(n.List, elem)
				walk(n.ElseList, dot)
			case *parse.TemplateNode:
				k := dotOther
				if n.Pipe != nil {
					k = pipe(n.Pipe, dot)
				}
				visit(n.Name, k)
			}
		}
		walk(tree.Root, dot)
	}
	visit(name, dotPage)
	return refs
}
