package sqlsite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/bakehq/bake"
)

// ErrNotFound is returned by [Site.Page] when no route makes the path.
var ErrNotFound = errors.New("no page at this path")

// slugRE matches every slug (see slug): words of a-z and 0-9 joined by -.
const slugRE = `[a-z0-9]+(?:-[a-z0-9]+)*`

// matcher returns a regexp that matches every path route r can make. A
// slugged placeholder matches a slug, not the column's value: which rows
// make a path is then told by slugging their values (see
// [Route.pathQuery]).
func (r *Route) matcher() *regexp.Regexp {
	if r.pattern == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString("^")
	for _, pt := range r.pattern.parts {
		switch {
		case pt.name == "":
			b.WriteString(regexp.QuoteMeta(pt.lit))
		case pt.slug:
			b.WriteString("(?P<" + pt.name + ">" + slugRE + ")")
		default:
			b.WriteString("(?P<" + pt.name + ">[^/]+)")
		}
	}
	if (r.Kind == KindList || r.Kind == KindArchive) && strings.HasSuffix(r.Path, "/") {
		b.WriteString(`(?:page/[0-9]+/)?`)
	}
	if r.Kind == KindSitemap {
		b.WriteString(`|^` + regexp.QuoteMeta(strings.TrimSuffix(r.Path, ".xml")) + `-[0-9]+\.xml`)
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Page returns the one page at path, running only the routes that can
// make it (a detail route queries only the matching row). It is what
// `bake serve --live` renders on each request.
func (s *Site) Page(ctx context.Context, path string) (*bake.Page, error) {
	path = pagePath(path)
	var found *bake.Page
	var failure error
	b := &buildRun{site: s, ctx: ctx, target: path}
	b.yield = func(p *bake.Page, err error) bool {
		if err != nil {
			var be *bake.Error
			if errors.As(err, &be) && (be.Path == path || be.Path == "") {
				failure = err
			}
			return true
		}
		if p.Path == path {
			found = p
			return false
		}
		return true
	}
	b.run()
	if found != nil {
		return found, nil
	}
	if failure != nil {
		return nil, failure
	}
	return nil, ErrNotFound
}

// ServeHTTP renders the requested page straight from the database, for
// preview without a build. A path no route makes gets the notfound route's
// page with status 404.
func (s *Site) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctx := req.Context()
	path := req.URL.Path
	status := http.StatusOK
	p, err := s.Page(ctx, path)
	if errors.Is(err, ErrNotFound) && !strings.HasSuffix(path, "/") {
		if _, err2 := s.Page(ctx, path+"/"); err2 == nil {
			target := bake.EscapePath(path + "/")
			if req.URL.RawQuery != "" {
				target += "?" + req.URL.RawQuery
			}
			http.Redirect(w, req, target, http.StatusMovedPermanently)
			return
		}
	}
	if errors.Is(err, ErrNotFound) {
		status = http.StatusNotFound
		p, err = nil, nil
		for _, r := range s.cfg.Routes {
			if r.Kind == KindNotFound {
				p, err = s.Page(ctx, r.Path)
				break
			}
		}
		if p == nil && err == nil {
			http.NotFound(w, req)
			return
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if p.Source != "" {
		// A processed asset's file is named by its hash: the type is
		// the page's, not guessed from the file.
		w.Header().Set("Content-Type", p.Type())
		http.ServeFile(w, req, p.Source)
		return
	}
	if err := p.Render(bake.WithTracker(ctx, &bake.Tracker{}), &buf); err != nil {
		http.Error(w, fmt.Sprintf("render %s: %v", p.Path, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", p.Type())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if req.Method == http.MethodGet {
		w.Write(buf.Bytes())
	}
}

// canMake reports whether route r can make a page at path.
func (r *Route) canMake(path string) bool {
	switch r.Kind {
	case KindRedirect:
		return true
	}
	m := r.matcher()
	return m != nil && m.MatchString(path)
}

// staticCandidate reports whether path could be a static file: a file
// name, or a folder whose index.html is in the static folders.
func (s *Site) staticCandidate(path string) bool {
	if !strings.HasSuffix(path, "/") {
		return true
	}
	name, err := bake.FileName(path)
	if err != nil {
		return false
	}
	_, ok := s.Assets().Lookup(name)
	return ok
}

// pathQuery returns the query of the rows of detail route r that can make
// path, and its arguments: the route's query with a WHERE clause on the
// columns of the placeholders that take a value as it is. Slugged
// placeholders are not compared in SQL, which has no slugify of its own to
// agree with: the caller compares the path the row makes (see
// [Route.makes]). ok is false when no row can make path.
func (r *Route) pathQuery(db *db, path string) (query string, args []any, ok bool) {
	m := r.matcher()
	vals := m.FindStringSubmatch(path)
	if vals == nil {
		return "", nil, false
	}
	slugged := r.pattern.slugged()
	var conds []string
	for i, pt := range r.pattern.parts {
		if pt.name == "" || pt.slug || slugged && !r.pattern.alone(i) {
			// A value beside a slug in one segment (/{id}-{title|slugify}/)
			// may be cut from the path at the wrong dash: compared in Go.
			continue
		}
		args = append(args, vals[m.SubexpIndex(pt.name)])
		conds = append(conds, "q."+pt.name+" = "+db.placeholder(len(args)))
	}
	query = "SELECT * FROM (" + clean(r.Query) + ") AS q"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	return query, args, true
}

// makes reports whether row makes the page at path on detail route r.
func (r *Route) makes(row Row, path string) bool {
	p, err := r.pattern.fill(func(k string) (any, bool) { v, ok := row[k]; return v, ok })
	return err == nil && pagePath(p) == path
}
