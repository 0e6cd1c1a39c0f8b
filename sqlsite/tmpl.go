package sqlsite

// Template loading: the templates folder parsed into shared templates
// and one set per route, and what each route's templates read (their
// tmpl: and asset: deps, the site queries they show). The functions
// templates call are in funcs.go.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"github.com/bakehq/bake"
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// templates holds the parsed templates of a site: the shared ones (layouts
// and partials) and one clone per route template.
type templates struct {
	dir    string
	shared *template.Template
	files  map[string]string // defined template name → file that defines it (shared)
	routes map[string]*routeTemplate
}

// routeTemplate is a route's template set, with what it statically reads.
type routeTemplate struct {
	t       *template.Template
	file    string
	deps    []bake.Dep      // tmpl: and asset: deps of everything reachable
	queries []string        // .Data names it reads; nil with allData
	allData bool            // reads .Data in a way that cannot be analysed
	fields  map[string]bool // every field name it mentions (.Pager.TotalItems → Pager, TotalItems)
	cols    []colRef        // the columns of its route's rows it reads by name
	urls    []urlRef        // its {{url "NAME"}} calls with a literal name
	// rowsFrag is the fragment it writes .Rows through, when it reads
	// them in no other way (see rowsFragment), or "".
	rowsFrag string
}

func isShared(name string) bool {
	return strings.HasPrefix(filepath.Base(name), "_") || strings.HasPrefix(name, "layouts/") || strings.HasPrefix(name, "partials/")
}

// loadTemplates parses the templates folder. Every parse error is returned,
// with file and line.
func loadTemplates(dir string, funcs template.FuncMap, routeFiles []string) (*templates, error) {
	ts := &templates{dir: dir, files: map[string]string{}, routes: map[string]*routeTemplate{}}
	ts.shared = template.New("").Funcs(funcs)
	var probs Problems
	var sharedFiles []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if isShared(rel) {
			sharedFiles = append(sharedFiles, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	slices.Sort(sharedFiles)
	for _, rel := range sharedFiles {
		src, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return nil, fmt.Errorf("read templates: %w", err)
		}
		before := definedNames(ts.shared)
		if _, err := ts.shared.New(rel).Parse(string(src)); err != nil {
			probs = append(probs, templateError(rel, err))
			continue
		}
		for _, n := range definedNames(ts.shared) {
			if !slices.Contains(before, n) || n == rel {
				ts.files[n] = rel
			}
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	seen := map[string]bool{}
	for _, rel := range routeFiles {
		if seen[rel] {
			continue // a file of two routes: parsed (or reported) once
		}
		seen[rel] = true
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				probs = append(probs, &bake.Error{File: filepath.Join(dir, rel), Err: errors.New("template file does not exist")})
				continue
			}
			return nil, fmt.Errorf("read templates: %w", err)
		}
		clone, err := ts.shared.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone templates: %w", err)
		}
		before := definedNames(clone)
		t, err := clone.New(rel).Parse(string(src))
		if err != nil {
			probs = append(probs, templateError(rel, err))
			continue
		}
		files := map[string]string{}
		for n, f := range ts.files {
			files[n] = f
		}
		for _, n := range definedNames(clone) {
			if !slices.Contains(before, n) || n == rel {
				files[n] = rel
			}
		}
		// A file that redefines a shared block overrides it.
		for _, n := range definedInFile(string(src)) {
			files[n] = rel
		}
		ts.routes[rel] = analyse(t, rel, files)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return ts, nil
}

var defineRe = regexp.MustCompile(`\{\{-?\s*(?:define|block)\s+"([^"]+)"`)

func definedInFile(src string) []string {
	var out []string
	for _, m := range defineRe.FindAllStringSubmatch(src, -1) {
		out = append(out, m[1])
	}
	return out
}

func definedNames(t *template.Template) []string {
	var out []string
	for _, x := range t.Templates() {
		if x.Tree != nil {
			out = append(out, x.Name())
		}
	}
	return out
}

// analyse walks the parse trees reachable from t and records the template
// files, static files and site queries the template reads.
func analyse(t *template.Template, file string, files map[string]string) *routeTemplate {
	rt := &routeTemplate{t: t, file: file, fields: map[string]bool{}}
	seen := map[string]bool{}
	// file is a template file (a route's) or, for a partial, the name of
	// a define, which is no file: visit records the file defining it.
	fileSet := map[string]bool{}
	if f, ok := files[file]; !ok || f == file {
		fileSet[file] = true
	}
	assets := map[string]bool{}
	queries := map[string]bool{}
	var visit func(name string)
	var tree *parse.Tree // the tree walk is in, for the place of a url call
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && assetFuncs[id.Ident] {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						assets[s.Text] = true
					} else {
						assets["*"] = true
					}
				}
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "url" {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						loc, _ := tree.ErrorContext(n)
						rt.urls = append(rt.urls, urlRef{Name: s.Text, Loc: loc})
					}
				}
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && (id.Ident == "cache" || id.Ident == "cacheEach") {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						visit(s.Text)
					}
				}
			}
			for _, c := range n.Args {
				walk(c)
			}
		case *parse.FieldNode:
			dataRef(n.Ident, queries, &rt.allData)
			for _, id := range n.Ident {
				rt.fields[id] = true
			}
			notePagerURL(rt.fields, n.Ident)
		case *parse.ChainNode:
			walk(n.Node)
			for _, id := range n.Field {
				rt.fields[id] = true
			}
			notePagerURL(rt.fields, n.Field)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				dataRef(n.Ident[1:], queries, &rt.allData)
			}
			for _, id := range n.Ident[1:] {
				rt.fields[id] = true
			}
			notePagerURL(rt.fields, n.Ident[1:])
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
			visit(n.Name)
		}
	}
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if f, ok := files[name]; ok {
			fileSet[f] = true
		}
		if x := t.Lookup(name); x != nil && x.Tree != nil {
			prev := tree
			tree = x.Tree
			walk(x.Tree.Root)
			tree = prev
		}
	}
	visit(file)
	for f := range fileSet {
		rt.deps = append(rt.deps, bake.TmplDep(f))
	}
	for a := range assets {
		rt.deps = append(rt.deps, bake.AssetDep(a))
	}
	slices.Sort(rt.deps)
	for q := range queries {
		rt.queries = append(rt.queries, q)
	}
	slices.Sort(rt.queries)
	rt.cols = rowColumns(t, file)
	// On the escaped trees: where html/template would escape what
	// cacheEach writes (an attribute, a script), the bytes of a row are
	// not its fragment's. An escaping error is Execute's to report.
	// Escaped only when it may pass: the others are escaped when first
	// executed, and a build starts sooner.
	if rowsFragment(t, file) != "" && t.Escape() == nil {
		rt.rowsFrag = rowsFragment(t, file)
	}
	return rt
}

// dataRef notes a .Data.NAME reference; a bare .Data reads everything.
func dataRef(ident []string, queries map[string]bool, all *bool) {
	for i, id := range ident {
		if id == "Data" {
			if i+1 < len(ident) {
				queries[ident[i+1]] = true
			} else {
				*all = true
			}
		}
	}
}

var tmplLine = regexp.MustCompile(`template: ([^:]+):(\d+)(?::\d+)?: `)

// templateError turns a template parse or execution error into a bake.Error
// naming the file and line.
func templateError(file string, err error) *bake.Error {
	e := &bake.Error{File: file, Err: err}
	if m := tmplLine.FindStringSubmatch(err.Error()); m != nil {
		e.File = m[1]
		e.Line, _ = strconv.Atoi(m[2])
		msg := strings.Replace(err.Error(), m[0], "", 1)
		e.Err = errors.New(msg)
	}
	return e
}

// showsItems reports whether pages of rt may show the number of rows of the
// whole list (.Pager.TotalItems, or its old name .Pager.Items); a nil rt
// may.
func (rt *routeTemplate) showsItems() bool {
	return rt == nil || rt.fields["TotalItems"] || rt.fields["Items"]
}

// showsPages reports whether pages of rt may show the number of pages of a
// stable list: .Pager.TotalPages, .Pager.Total, or .Pager.URL, whose
// answer for the newest pages depends on it; a nil rt may.
func (rt *routeTemplate) showsPages() bool {
	return rt == nil || rt.fields["TotalPages"] || rt.fields["Total"] || rt.fields[pagerURL]
}

// pagerURL is noted among the fields of a template that may call the URL
// method of a pager: any .URL but .Page.URL.
const pagerURL = "Pager.URL()"

func notePagerURL(fields map[string]bool, idents []string) {
	for i, id := range idents {
		if id == "URL" && (i == 0 || idents[i-1] != "Page") {
			fields[pagerURL] = true
		}
	}
}
