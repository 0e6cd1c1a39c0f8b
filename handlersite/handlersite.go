// Package handlersite bakes a Go program's [http.Handler]: it asks the
// handler for every URL of a list or of a SQL query, in process (no
// network, no server), and makes each answer a page of a [bake.Site], so
// that [build.Run] writes them into a build folder with the same manifest
// and deps as any other build: bake publish, releases and rollback work on
// it unchanged.
//
// A 200 becomes a page with the answer's bytes and content type; a
// redirect becomes a redirect entry with the page bake crawl and redirect
// routes write; any other answer is a problem of the build naming the
// URL, and the build is not swapped in. The handler may record what a page
// read with [bake.Track] on its request's context (row:posts/42,
// table:posts): the deps go into the page's entry with url:PATH, as they
// do for a page of a SQL site.
//
// The bake command cannot load a Go program: a program that wants its
// handler baked calls this package itself (see the package example, and
// docs/go.md).
package handlersite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/crawl"
)

// Route is the route of the pages of a handler in the build's index.
const Route = "handler"

// KindURL is the dep kind every page has on its own URL: url:PATH.
const KindURL = "url"

// Paths yields the URL paths to bake, decoded, each starting with "/"; an
// error is a problem of the build, and the rest are still baked.
type Paths func(ctx context.Context) iter.Seq2[string, error]

// List returns Paths that yields paths.
func List(paths ...string) Paths {
	return func(context.Context) iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			for _, p := range paths {
				if !yield(p, nil) {
					return
				}
			}
		}
	}
}

// Query returns Paths that yields the first column of each row of query,
// run on db with args as the build starts: every post's path, say,
// "SELECT '/posts/' || slug || '/' FROM posts WHERE published". A NULL is
// a problem naming the query.
func Query(db *sql.DB, query string, args ...any) Paths {
	return func(ctx context.Context) iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			rows, err := db.QueryContext(ctx, query, args...)
			if err != nil {
				yield("", fmt.Errorf("paths query %q: %w", query, err))
				return
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				n++
				var p sql.NullString
				var err error
				if err = rows.Scan(&p); err == nil && !p.Valid {
					err = fmt.Errorf("paths query %q: row %d: NULL path", query, n)
				} else if err != nil {
					err = fmt.Errorf("paths query %q: row %d: %w", query, n, err)
				}
				if !yield(p.String, err) {
					return
				}
			}
			if err := rows.Err(); err != nil {
				yield("", fmt.Errorf("paths query %q: %w", query, err))
			}
		}
	}
}

// Options configures a [Site].
type Options struct {
	// BaseURL is the site's public address (https://example.org): the
	// handler's requests are made for its host, over TLS when it is https,
	// so that the links a handler makes from the request are the site's.
	// It also makes the canonical link of redirect pages absolute. If
	// empty, requests are for http://localhost and redirect pages keep
	// relative links.
	BaseURL string
	// Header is added to every request (Accept-Language, a header the
	// program reads to know it is being baked).
	Header http.Header
	// Concurrency is the number of requests the handler answers at once.
	// If zero, GOMAXPROCS.
	Concurrency int
	// MaxSize is the largest answer kept, in bytes; a bigger one is a
	// problem. If zero, 64 MB.
	MaxSize int64
}

// Site is a [bake.Site] whose pages are a handler's answers.
type Site struct {
	h     http.Handler
	paths Paths
	opts  Options
	base  *url.URL // nil without BaseURL
	host  *url.URL // where requests are made
}

// New returns the site of h at paths. It fails on a BaseURL that is not an
// absolute http or https URL.
func New(h http.Handler, paths Paths, opts Options) (*Site, error) {
	if h == nil || paths == nil {
		return nil, errors.New("handler site: a handler and paths are required")
	}
	s := &Site{h: h, paths: paths, opts: opts, host: &url.URL{Scheme: "http", Host: "localhost"}}
	if opts.BaseURL != "" {
		b, err := url.Parse(opts.BaseURL)
		if err != nil || b.Host == "" || (b.Scheme != "http" && b.Scheme != "https") {
			return nil, fmt.Errorf("handler site: base URL %q: want https://HOST", opts.BaseURL)
		}
		s.base = b
		s.host = &url.URL{Scheme: b.Scheme, Host: b.Host}
	}
	s.opts.Concurrency = cmp.Or(max(opts.Concurrency, 0), runtime.GOMAXPROCS(0))
	s.opts.MaxSize = cmp.Or(max(opts.MaxSize, 0), 64<<20)
	return s, nil
}

type result struct {
	p   *bake.Page
	err error
}

// Pages asks the handler for each path, Concurrency at a time, and yields
// a page for each answer: a 200 or a redirect; a page with an error for a
// path that is not a page path or that the handler answered otherwise. A
// path listed twice is baked once. A redirect that only adds a slash
// ("/news" to "/news/", as a router does for a folder) is not recorded:
// the page at the slash is baked instead, as bake crawl does.
func (s *Site) Pages(ctx context.Context) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			mu   sync.Mutex
			seen = map[string]bool{}
		)
		claim := func(p string) bool {
			mu.Lock()
			defer mu.Unlock()
			if seen[p] {
				return false
			}
			seen[p] = true
			return true
		}
		paths := make(chan string)
		results := make(chan result)
		send := func(r result) bool {
			select {
			case results <- r:
				return true
			case <-ctx.Done():
				return false
			}
		}
		var wg sync.WaitGroup
		for range s.opts.Concurrency {
			wg.Go(func() {
				for p := range paths {
					page, err := s.page(ctx, p, claim)
					if page == nil && err == nil {
						continue // baked at another path
					}
					if !send(result{page, err}) {
						return
					}
				}
			})
		}
		wg.Go(func() {
			defer close(paths)
			for p, err := range s.paths(ctx) {
				if err != nil {
					if !send(result{nil, err}) {
						return
					}
					continue
				}
				if !claim(p) {
					continue
				}
				select {
				case paths <- p:
				case <-ctx.Done():
					return
				}
			}
		})
		go func() { wg.Wait(); close(results) }()
		for r := range results {
			if !yield(r.p, r.err) {
				cancel()
				for range results {
				}
				return
			}
		}
	}
}

// page asks the handler for upath and returns its page; nil and no error
// when the page is baked at another path already claimed.
func (s *Site) page(ctx context.Context, upath string, claim func(string) bool) (*bake.Page, error) {
	fail := &bake.Page{Path: upath, Route: Route}
	name, err := bake.FileName(upath)
	if err != nil {
		return fail, err
	}
	var tr bake.Tracker
	w := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(bake.WithTracker(ctx, &tr), http.MethodGet, s.host.String()+bake.EscapePath(upath), nil)
	r.RemoteAddr = "127.0.0.1:0"
	for k, v := range s.opts.Header {
		r.Header[k] = v
	}
	if err := serve(s.h, w, r); err != nil {
		return fail, fmt.Errorf("GET %s: %w", upath, err)
	}
	resp := w.Result()
	deps := bake.SortDeps(append([]bake.Dep{bake.Dep(KindURL + ":" + upath)}, tr.Deps()...))
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if enc := resp.Header.Get("Content-Encoding"); enc != "" {
			return fail, fmt.Errorf("GET %s: answered encoded as %s; a build keeps plain bytes", upath, enc)
		}
		body := w.Body.Bytes()
		if int64(len(body)) > s.opts.MaxSize {
			return fail, fmt.Errorf("GET %s: larger than %d bytes", upath, s.opts.MaxSize)
		}
		ctype := cmp.Or(resp.Header.Get("Content-Type"), mime.TypeByExtension(path.Ext(name)), http.DetectContentType(body))
		return &bake.Page{Path: upath, Route: Route, ContentType: ctype, Deps: deps, Render: bytesRender(body)}, nil
	case code >= 300 && code < 400 && resp.Header.Get("Location") != "":
		target, err := s.target(upath, resp.Header.Get("Location"))
		if err != nil {
			return fail, fmt.Errorf("GET %s: %w", upath, err)
		}
		if target == upath+"/" {
			if !claim(target) {
				return nil, nil
			}
			return s.page(ctx, target, claim)
		}
		body, err := crawl.RedirectPage(target, s.base)
		if err != nil {
			return fail, err
		}
		return &bake.Page{Path: upath, Route: Route, Redirect: target, Deps: deps, Render: bytesRender(body)}, nil
	default:
		return fail, fmt.Errorf("GET %s: status %d %s; only 200s and redirects are baked", upath, code, http.StatusText(code))
	}
}

// target returns where a redirect of upath to loc goes: a path of the site
// (with its query), or a URL of another.
func (s *Site) target(upath, loc string) (string, error) {
	here := *s.host
	here.Path = upath
	u, err := here.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("redirect to %q: %w", loc, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host != s.host.Host || strings.HasPrefix(u.Path, "//") {
		// Another site's, or a path a browser would read as another
		// site's ("//host/…"): the whole URL.
		return u.String(), nil
	}
	t := cmp.Or(u.Path, "/")
	if u.RawQuery != "" {
		t += "?" + u.RawQuery
	}
	return t, nil
}

// serve calls h, turning a panic into an error.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}

func bytesRender(b []byte) func(context.Context, io.Writer) error {
	return func(_ context.Context, w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}
