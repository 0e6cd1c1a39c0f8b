package crawl

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// Route is the route of crawled pages in the build's index.
const Route = "crawl"

// KindURL is the dep kind of a crawled page: url:PATH.
const KindURL = "url"

// ValidatorsFile is where a crawl keeps, inside the build folder, the
// ETag and Last-Modified of each page it saved, for the next crawl's
// conditional requests.
const ValidatorsFile = bake.ReservedDir + "/crawl.json"

// Options configures [Crawl].
type Options struct {
	// Origin is the running site to crawl, http://HOST:PORT. Required.
	Origin *url.URL
	// Output is the build folder to write. A crawl is a full build: the
	// folder is replaced whole, atomically. If zero, "_site".
	Output string
	// BaseURL is the site's public address (https://example.org). The
	// origin's address in text files (HTML, CSS, JavaScript, XML, JSON,
	// plain text) is rewritten to it, and links to it are followed as
	// links to the origin. If empty, the origin's address is left as it
	// is.
	BaseURL string
	// Start lists the paths the crawl starts from, besides /robots.txt and
	// the sitemaps (/sitemap.xml and those robots.txt names). If empty, /.
	Start []string
	// Concurrency is the number of requests under way at once. If zero, 4.
	Concurrency int
	// Rate is the most requests started a second, all together. If zero,
	// no limit but Concurrency.
	Rate float64
	// IgnoreRobots fetches what robots.txt disallows. By default the
	// Disallow lines of its "User-agent: *" group are obeyed.
	IgnoreRobots bool
	// MaxPages stops following links once this many paths are known. If
	// zero, 1,000,000.
	MaxPages int
	// MaxSize is the largest body saved, in bytes; a bigger one is a
	// problem. If zero, 64 MB.
	MaxSize int64
	// UserAgent is sent with every request. If empty, "bake-crawl".
	UserAgent string
	// Transport makes the requests. If nil, a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives what goes wrong. If nil, logs are discarded.
	Logger *slog.Logger
	// Progress, when not nil, is updated as the crawl goes.
	Progress *Progress
}

// Progress counts a crawl's work as it goes; safe to read at any time.
type Progress struct {
	Found   atomic.Int64 // paths queued
	Fetched atomic.Int64 // paths answered (any status)
}

// Broken is a link that did not lead to a page.
type Broken struct {
	Path   string   `json:"path"`
	Status int      `json:"status,omitempty"` // 0 when the request failed
	Err    string   `json:"error,omitempty"`
	From   []string `json:"from"` // pages linking to it (the first few)
}

// Report says what a crawl did.
type Report struct {
	Pages     int           `json:"pages"`     // 200s saved
	Redirects int           `json:"redirects"` // redirect entries recorded
	Written   int           `json:"written"`   // files written: new or changed
	Unchanged int           `json:"unchanged"` // kept from the previous crawl: 304, or the same bytes
	Requests  int           `json:"requests"`
	Bytes     int64         `json:"bytes"`             // bytes of the pages saved
	Skipped   int           `json:"skipped,omitempty"` // links not followed: a query string, robots.txt, not a page path
	Broken    []Broken      `json:"broken,omitempty"`  // sorted by path
	Problems  []string      `json:"problems,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
}

// validator is what the next crawl needs of a saved path.
type validator struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	Type         string `json:"type"`
}

// crawler is one crawl under way.
type crawler struct {
	opts   Options
	origin string   // scheme://host of the origin, as it appears in text
	base   *url.URL // nil without BaseURL
	client *http.Client
	log    *slog.Logger
	limit  *limiter
	robots robots

	stage *output.Staging
	final string
	prev  map[string]validator // the previous crawl's, by path

	mu      sync.Mutex
	iw      *output.IndexWriter
	next    map[string]validator
	seen    map[string][]string // path → referrers (up to maxFrom)
	broken  map[string]Broken
	rep     Report
	queue   []task
	active  int
	cond    *sync.Cond
	stopped bool
}

type task struct {
	path string
	seed bool // asked for by the crawl itself: a 404 is no broken link
}

const maxFrom = 5

// Crawl fetches a running site, from its home page, robots.txt and
// sitemaps, following the links of its pages to other pages of the same
// site, and writes every page answered 200 into a new build of
// opts.Output, with its manifest, as a full build does. Redirects become
// redirect entries (with the same page a redirect route of bake.toml
// makes); other statuses are reported as broken links. With a previous
// crawl in opts.Output, pages are asked for with If-None-Match and
// If-Modified-Since, and a page that did not change keeps its file.
//
// The build is swapped in only when the crawl finishes; an error or a
// cancelled ctx leaves the previous build as it was.
func Crawl(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Origin == nil || opts.Origin.Host == "" || (opts.Origin.Scheme != "http" && opts.Origin.Scheme != "https") {
		return nil, errors.New("crawl: the origin must be an absolute http or https URL")
	}
	opts.Output = cmp.Or(opts.Output, "_site")
	opts.Concurrency = cmp.Or(max(opts.Concurrency, 0), 4)
	opts.MaxPages = cmp.Or(max(opts.MaxPages, 0), 1_000_000)
	opts.MaxSize = cmp.Or(max(opts.MaxSize, 0), 64<<20)
	opts.UserAgent = cmp.Or(opts.UserAgent, "bake-crawl")
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	c := &crawler{
		opts:   opts,
		origin: opts.Origin.Scheme + "://" + opts.Origin.Host,
		log:    opts.Logger,
		final:  opts.Output,
		next:   map[string]validator{},
		seen:   map[string][]string{},
		broken: map[string]Broken{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.cond = sync.NewCond(&c.mu)
	if opts.BaseURL != "" {
		b, err := url.Parse(opts.BaseURL)
		if err != nil || b.Host == "" || (b.Scheme != "http" && b.Scheme != "https") {
			return nil, fmt.Errorf("crawl: base URL %q: want https://HOST", opts.BaseURL)
		}
		c.base = b
	}
	if opts.Rate > 0 {
		c.limit = &limiter{every: time.Duration(float64(time.Second) / opts.Rate)}
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = opts.Concurrency
		tr = t
	}
	c.client = &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.prev = readValidators(opts.Output)

	stage, err := output.Begin(opts.Output)
	if err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	c.stage = stage
	committed := false
	defer func() {
		if !committed {
			stage.Abort()
		}
	}()
	name, err := stage.IndexPath()
	if err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	if c.iw, err = output.NewIndexWriter(ctx, name); err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	defer func() {
		if !committed {
			c.iw.Abort()
		}
	}()

	// robots.txt first: it says what not to fetch, and names sitemaps.
	c.add(task{path: "/robots.txt", seed: true}, "")
	c.work(ctx, 1)
	c.add(task{path: "/sitemap.xml", seed: true}, "")
	for _, s := range c.robots.sitemaps {
		if p, ok := c.sitePath(s, nil); ok {
			c.add(task{path: p, seed: true}, "")
		}
	}
	starts := opts.Start
	if len(starts) == 0 {
		starts = []string{"/"}
	}
	for _, s := range starts {
		c.add(task{path: s, seed: true}, "")
	}
	c.work(ctx, opts.Concurrency)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}

	vals, err := json.Marshal(c.next)
	if err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	if err := stage.WriteFile(ValidatorsFile, vals); err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	if err := c.iw.Commit(ctx, nil); err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	committed = true
	if err := stage.Commit(); err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	stage.RemoveOld()
	stage.Wait()
	rep := c.rep
	for _, b := range c.broken {
		b.From = c.seen[b.Path]
		rep.Broken = append(rep.Broken, b)
	}
	slices.SortFunc(rep.Broken, func(a, b Broken) int { return strings.Compare(a.Path, b.Path) })
	slices.Sort(rep.Problems)
	rep.Duration = time.Since(start)
	return &rep, nil
}

// add queues p, found on the page from ("" for the crawl's own), unless it
// was queued before.
func (c *crawler) add(t task, from string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if refs, ok := c.seen[t.path]; ok {
		if from != "" && len(refs) < maxFrom && !slices.Contains(refs, from) {
			c.seen[t.path] = append(refs, from)
		}
		return
	}
	if len(c.seen) >= c.opts.MaxPages {
		c.rep.Skipped++
		return
	}
	if !c.opts.IgnoreRobots && !t.seed && !c.robots.allowed(t.path) {
		c.rep.Skipped++
		return
	}
	var refs []string
	if from != "" {
		refs = []string{from}
	}
	c.seen[t.path] = refs
	c.queue = append(c.queue, t)
	c.opts.Progress.Found.Add(1)
	c.cond.Signal()
}

// work runs n workers until the queue is empty and none is busy.
func (c *crawler) work(ctx context.Context, n int) {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.stopped = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				t, ok := c.take()
				if !ok {
					return
				}
				c.fetch(ctx, t)
				c.mu.Lock()
				c.active--
				c.cond.Broadcast()
				c.mu.Unlock()
				c.opts.Progress.Fetched.Add(1)
			}
		})
	}
	wg.Wait()
}

// take returns the next task, waiting while other workers may still find
// some; false when the crawl is over.
func (c *crawler) take() (task, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) == 0 && c.active > 0 && !c.stopped {
		c.cond.Wait()
	}
	if len(c.queue) == 0 || c.stopped {
		return task{}, false
	}
	t := c.queue[0]
	c.queue = c.queue[1:]
	c.active++
	return t, true
}

// fetch asks the origin for one path and handles the answer.
func (c *crawler) fetch(ctx context.Context, t task) {
	if err := c.limit.wait(ctx); err != nil {
		return
	}
	name, err := bake.FileName(t.path)
	if err != nil {
		c.count(func(r *Report) { r.Skipped++ })
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.origin+bake.EscapePath(t.path), nil)
	if err != nil {
		c.brokenLink(t, 0, err)
		return
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	prev, hadPrev := c.prev[t.path]
	if hadPrev && c.oldFileOK(name, prev) {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	resp, err := c.client.Do(req)
	c.count(func(r *Report) { r.Requests++ })
	if err != nil {
		if ctx.Err() == nil {
			c.brokenLink(t, 0, err)
		}
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && hadPrev:
		c.keep(ctx, t.path, name, prev, resp)
	case resp.StatusCode == http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxSize+1))
		if err != nil {
			c.brokenLink(t, resp.StatusCode, err)
			return
		}
		if int64(len(body)) > c.opts.MaxSize {
			c.problem(t.path, fmt.Errorf("larger than %d bytes", c.opts.MaxSize))
			return
		}
		c.page(ctx, t.path, name, body, resp)
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "":
		c.redirect(ctx, t, name, resp)
	default:
		if !t.seed || t.path == "/" {
			c.brokenLink(t, resp.StatusCode, nil)
		}
	}
}

// page saves a 200 answer and follows its links.
func (c *crawler) page(ctx context.Context, upath, name string, body []byte, resp *http.Response) {
	ctype := resp.Header.Get("Content-Type")
	if ctype == "" {
		ctype = cmp.Or(mime.TypeByExtension(path.Ext(name)), http.DetectContentType(body))
	}
	c.follow(upath, ctype, body)
	if c.base != nil && textual(ctype) {
		body = bytes.ReplaceAll(body, []byte(c.origin), []byte(strings.TrimSuffix(c.base.String(), "/")))
	}
	sum := sha256.Sum256(body)
	v := validator{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)), Type: ctype}
	if prev, ok := c.prev[upath]; ok && prev.SHA256 == v.SHA256 && c.oldFileOK(name, prev) && c.link(name) == nil {
		c.count(func(r *Report) { r.Unchanged++ })
	} else {
		if err := c.stage.WriteFile(name, body); err != nil {
			c.problem(upath, err)
			return
		}
		c.count(func(r *Report) { r.Written++ })
	}
	c.index(ctx, bake.Entry{Path: upath, SHA256: v.SHA256, Size: v.Size, Type: ctype}, v)
	c.count(func(r *Report) { r.Pages++; r.Bytes += v.Size })
}

// keep takes a page the origin says did not change from the previous
// build, and follows its links.
func (c *crawler) keep(ctx context.Context, upath, name string, prev validator, resp *http.Response) {
	if followable(prev.Type) {
		body, err := c.readOld(name)
		if err != nil {
			c.problem(upath, err)
			return
		}
		c.follow(upath, prev.Type, body)
	}
	if err := c.link(name); err != nil {
		c.problem(upath, err)
		return
	}
	if e := resp.Header.Get("ETag"); e != "" {
		prev.ETag = e
	}
	c.index(ctx, bake.Entry{Path: upath, SHA256: prev.SHA256, Size: prev.Size, Type: prev.Type}, prev)
	c.count(func(r *Report) { r.Pages++; r.Unchanged++; r.Bytes += prev.Size })
}

// redirect records a redirect entry, with the page a redirect route of
// bake.toml writes, and follows its target. A redirect that only adds a
// slash (a folder's) is followed and not recorded: the folder's page is
// the page.
func (c *crawler) redirect(ctx context.Context, t task, name string, resp *http.Response) {
	here, _ := url.Parse(c.origin + bake.EscapePath(t.path))
	loc, err := here.Parse(resp.Header.Get("Location"))
	if err != nil {
		c.brokenLink(t, resp.StatusCode, err)
		return
	}
	target := loc.String()
	if p, ok := c.sitePath(loc.String(), here); ok {
		if p == t.path+"/" {
			c.add(task{path: p}, "")
			return
		}
		c.add(task{path: p}, t.path)
		target = p
		if loc.RawQuery != "" {
			target += "?" + loc.RawQuery
		}
	} else if c.base != nil {
		target = strings.Replace(target, c.origin, strings.TrimSuffix(c.base.String(), "/"), 1)
	}
	body, err := RedirectPage(target, c.base)
	if err != nil {
		c.problem(t.path, err)
		return
	}
	sum := sha256.Sum256(body)
	v := validator{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)), Type: "text/html; charset=utf-8"}
	if prev, ok := c.prev[t.path]; ok && prev.SHA256 == v.SHA256 && c.oldFileOK(name, prev) && c.link(name) == nil {
		c.count(func(r *Report) { r.Unchanged++ })
	} else {
		if err := c.stage.WriteFile(name, body); err != nil {
			c.problem(t.path, err)
			return
		}
		c.count(func(r *Report) { r.Written++ })
	}
	c.index(ctx, bake.Entry{Path: t.path, SHA256: v.SHA256, Size: v.Size, Type: v.Type, Redirect: target}, v)
	c.count(func(r *Report) { r.Redirects++ })
}

// RedirectPage returns the page of a redirect to target, a path of the
// site (decoded, with an optional query) or a URL, as a redirect route of
// bake.toml writes it: a meta refresh, and a canonical link made absolute
// with base when base is not nil. Other ways of making a build of a
// running site (a Go handler baked in process) write the same bytes.
func RedirectPage(target string, base *url.URL) ([]byte, error) {
	href := target
	if strings.HasPrefix(target, "/") {
		path, query, _ := strings.Cut(target, "?")
		href = bake.EscapePath(path)
		if query != "" {
			href += "?" + query
		}
	}
	canonical := href
	if base != nil && strings.HasPrefix(href, "/") {
		canonical = strings.TrimSuffix(base.String(), "/") + href
	}
	var buf bytes.Buffer
	if err := redirectHTML.Execute(&buf, map[string]string{"Href": href, "Canonical": canonical}); err != nil {
		return nil, fmt.Errorf("redirect page: %w", err)
	}
	return buf.Bytes(), nil
}

// redirectHTML is the page of a redirect, as sqlsite writes it for a
// redirect route, so that a crawled site and its build agree.
var redirectHTML = template.Must(template.New("redirect").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redirecting…</title>
<link rel="canonical" href="{{.Canonical}}">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={{.Href}}">
</head><body><p>This page has moved to <a href="{{.Href}}">{{.Href}}</a>.</p></body></html>
`))

// follow queues the same-site links of a page.
func (c *crawler) follow(upath, ctype string, body []byte) {
	var links []string
	mt, _, _ := mime.ParseMediaType(ctype)
	switch {
	case upath == "/robots.txt":
		r := parseRobots(body)
		c.mu.Lock()
		c.robots = r
		c.mu.Unlock()
		links = r.sitemaps
	case mt == "text/html" || mt == "application/xhtml+xml":
		links = htmlLinks(body)
	case mt == "text/css":
		links = cssLinks(body)
	case strings.HasSuffix(mt, "xml"):
		links = xmlLinks(body)
	default:
		return
	}
	here, _ := url.Parse(c.origin + bake.EscapePath(upath))
	for _, l := range links {
		p, ok := c.sitePath(l, here)
		switch {
		case !ok:
		case p == "":
			c.count(func(r *Report) { r.Skipped++ })
		default:
			c.add(task{path: p}, upath)
		}
	}
}

// sitePath returns the path of ref, resolved against here, when it is a
// page of the site: the origin's, or the base URL's. It returns "", true
// for a link of the site that the crawl does not follow (a query string).
func (c *crawler) sitePath(ref string, here *url.URL) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "#") {
		return "", false
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	if here != nil {
		u = here.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	if u.Host != c.opts.Origin.Host && (c.base == nil || u.Host != c.base.Host) {
		return "", false
	}
	if u.RawQuery != "" {
		return "", true
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	if _, err := bake.FileName(p); err != nil {
		return "", true
	}
	return p, true
}

// index adds a page's entry to the new build's index.
func (c *crawler) index(ctx context.Context, e bake.Entry, v validator) {
	e.Route = Route
	e.Deps = []bake.Dep{bake.Dep(KindURL + ":" + e.Path)}
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&e); err != nil {
		c.problem(e.Path, err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.iw.Add(ctx, &e, bytes.TrimSuffix(line.Bytes(), []byte("\n"))); err != nil {
		c.rep.Problems = append(c.rep.Problems, e.Path+": "+err.Error())
		return
	}
	if v.SHA256 != "" {
		c.next[e.Path] = v
	}
}

// oldFileOK reports whether the previous build holds the file of a page
// as the previous crawl saved it (its size, at least).
func (c *crawler) oldFileOK(name string, v validator) bool {
	fi, err := os.Lstat(filepath.Join(c.final, filepath.FromSlash(name)))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == v.Size
}

// readOld reads a page's file of the previous build.
func (c *crawler) readOld(name string) ([]byte, error) {
	root, err := os.OpenRoot(c.final)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(name)
}

// link puts the previous build's file of a page into the new build
// without writing it again: a hard link, or a copy where links fail.
func (c *crawler) link(name string) error {
	old := filepath.Join(c.final, filepath.FromSlash(name))
	if fi, err := os.Lstat(old); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("keep %s: not a file of the previous build", name)
	}
	dst := filepath.Join(c.stage.Dir(), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
		if err := os.Link(old, dst); err == nil {
			return nil
		}
	}
	data, err := c.readOld(name)
	if err != nil {
		return fmt.Errorf("keep %s: %w", name, err)
	}
	return c.stage.WriteFile(name, data)
}

func (c *crawler) brokenLink(t task, status int, err error) {
	b := Broken{Path: t.path, Status: status}
	if err != nil {
		b.Err = err.Error()
	}
	c.mu.Lock()
	c.broken[t.path] = b
	c.mu.Unlock()
}

func (c *crawler) problem(upath string, err error) {
	c.log.Warn("crawl", "path", upath, "err", err)
	c.count(func(r *Report) { r.Problems = append(r.Problems, upath+": "+err.Error()) })
}

func (c *crawler) count(f func(*Report)) {
	c.mu.Lock()
	f(&c.rep)
	c.mu.Unlock()
}

// readValidators reads the previous crawl's validators of the build
// folder dir; none when it has none.
func readValidators(dir string) map[string]validator {
	out := map[string]validator{}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ValidatorsFile)))
	if err != nil {
		return out
	}
	if json.Unmarshal(data, &out) != nil {
		return map[string]validator{}
	}
	return out
}

// textual reports whether a type is text whose URLs are rewritten.
func textual(ctype string) bool {
	mt, _, _ := mime.ParseMediaType(ctype)
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "xml") || strings.HasSuffix(mt, "json") ||
		mt == "application/javascript"
}

// followable reports whether pages of a type have links the crawl follows.
func followable(ctype string) bool {
	mt, _, _ := mime.ParseMediaType(ctype)
	return mt == "text/html" || mt == "application/xhtml+xml" || mt == "text/css" || strings.HasSuffix(mt, "xml") || mt == "text/plain"
}

// limiter spaces the starts of requests.
type limiter struct {
	mu    sync.Mutex
	next  time.Time
	every time.Duration
}

// wait blocks until the next request may start; a nil limiter never does.
func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.every)
	l.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(at)):
		return nil
	}
}
