package sqlsite

// The template functions of docs/templates.md: url, absurl, markdown,
// date, truncate, slugify, add, sub, and the fragment cache (cache,
// cacheEach). static, inline and integrity are in assets.go.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bakehq/bake"
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
	"github.com/bakehq/bake/internal/markdown"
)

// funcs are the template functions of docs/templates.md.
type funcs struct {
	site *Site
	md   *markdown.Renderer

	cacheMu    sync.Mutex
	cached     map[string]template.HTML // this pass's fragments, by key
	cachedSize int
	cacheData  *PageData          // dot of a cache call without an argument
	store      bake.FragmentCache // fragments kept between builds, or nil
	state      map[string]string  // the pass's state, for fragment keys; nil for none
	partials   map[string]*routeTemplate
	salts      map[string]string // shared template → routeSalt
}

// memoLimit bounds the bytes of fragments a pass keeps in memory; past it
// the memo starts again empty (the store still has them).
const memoLimit = 8 << 20

// resetCache starts the fragment cache of a pass over the site: data is
// the dot of cache calls without an argument, store (may be nil) keeps
// fragments between builds, state (nil in live previews) makes their keys.
func (f *funcs) resetCache(data *PageData, store bake.FragmentCache, state map[string]string) {
	f.cacheMu.Lock()
	f.cached = map[string]template.HTML{}
	f.cachedSize = 0
	f.cacheData = data
	f.store = store
	// A copy: pages render while the pass still writes its own state.
	f.state = maps.Clone(state)
	f.salts = map[string]string{}
	f.cacheMu.Unlock()
}

// cache renders shared template name once and returns the same HTML to
// every page that asks again. Without an argument (a header or sidebar, the
// same on every page) the dot is .Site and .Data, and the fragment lives
// for one pass. With an argument, the dot (a row, usually), the fragment
// is keyed by the template files it reaches, the static files and site
// queries it reads, bake.toml, and the argument's content, and kept
// between builds: an item teaser shown on many list pages is rendered once
// per version of its row.
func (f *funcs) cache(name string, args ...any) (template.HTML, error) {
	h, _, err := f.fragment(name, args, false)
	return h, err
}

// fragment returns what cache returns. With raw, a fragment found in the
// store comes back as its bytes (read-only, valid for the build), not
// copied into a string nor kept in the memo: cacheEach copies it once,
// into the list it joins (an insert at the top of a long list reads
// 95,000 of them, and the string of each was fresh memory).
func (f *funcs) fragment(name string, args []any, raw bool) (template.HTML, []byte, error) {
	if len(args) > 1 {
		return "", nil, fmt.Errorf("cache %q: pass at most one argument, the template's dot", name)
	}
	c, err := f.fragmentOf(name, len(args) == 1)
	if err != nil {
		return "", nil, err
	}
	var data any = c.dot
	if len(args) == 1 {
		data = args[0]
	}
	return f.render(c, name, data, len(args) == 1, raw)
}

// fragmentCall is what the fragments of one shared template need, looked
// up once for all the items of a cacheEach.
type fragmentCall struct {
	t       *template.Template
	dot     any // of a call without an argument
	store   bake.FragmentCache
	salt    string
	persist bool // keyed by content, kept in the store
}

func (f *funcs) fragmentOf(name string, arg bool) (*fragmentCall, error) {
	t := f.site.tmpl.shared.Lookup(name)
	if t == nil {
		return nil, fmt.Errorf("cache %q: no such template in the shared files (_*.html, layouts/, partials/)", name)
	}
	f.cacheMu.Lock()
	c := &fragmentCall{t: t, dot: f.cacheData, store: f.store, persist: arg && f.state != nil}
	if c.persist {
		c.salt = f.partialSalt(name)
	}
	f.cacheMu.Unlock()
	return c, nil
}

// render returns the fragment of c with dot data (arg: given to the call).
func (f *funcs) render(c *fragmentCall, name string, data any, arg, raw bool) (template.HTML, []byte, error) {
	t, store := c.t, c.store
	// The key is hashed outside the lock: every render worker makes keys.
	key := name
	switch {
	case c.persist:
		key = fragmentKey(c.salt, name, data)
	case arg:
		key = name + "\x00" + fmt.Sprint(data)
		store = nil
	default:
		store = nil
	}
	f.cacheMu.Lock()
	h, ok := f.cached[key]
	f.cacheMu.Unlock()
	if ok {
		return h, nil, nil
	}
	if store != nil {
		if b, ok := store.Get(key); ok {
			if raw {
				return "", b, nil
			}
			h = template.HTML(b)
			f.memo(key, h)
			return h, nil, nil
		}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", nil, err
	}
	h = template.HTML(buf.String())
	if store != nil {
		store.Put(key, buf.Bytes())
	}
	f.memo(key, h)
	return h, nil, nil
}

// cacheEach renders shared template name for each element of list, each
// cached as cache with that element does, and returns them joined: the
// output of {{range LIST}}{{cache "NAME" .}}{{end}}, in one call instead
// of two for every element (text/template calls every function and
// escaper through reflection: on a list page of 50 cached items that was
// about 40% of its rendering time).
func (f *funcs) cacheEach(name string, list any) (template.HTML, error) {
	if list == nil {
		return "", nil
	}
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return "", fmt.Errorf("cacheEach %q: %T is not a list (rows, or a slice)", name, list)
	}
	c, err := f.fragmentOf(name, true)
	if err != nil {
		return "", err
	}
	rows, isRows := list.([]Row)
	var rec *rowsRecorder
	if isRows {
		rec = recorderOf(rows) // the rows of a page being spliced: note where each is
	}
	var b strings.Builder
	for i := range v.Len() {
		var item any
		if isRows {
			item = rows[i]
		} else {
			item = v.Index(i).Interface()
		}
		h, raw, err := f.render(c, name, item, true, true)
		if err != nil {
			return "", err
		}
		if i == 0 {
			b.Grow((len(h) + len(raw)) * v.Len()) // items are about the same size
			if rec != nil {
				rec.lens = make([]int, 0, v.Len())
			}
		}
		b.WriteString(string(h))
		b.Write(raw)
		if rec != nil {
			rec.lens = append(rec.lens, len(h)+len(raw))
		}
	}
	if rec != nil {
		rec.calls++
		rec.out = b.String()
	}
	return template.HTML(b.String()), nil
}

func (f *funcs) memo(key string, h template.HTML) {
	f.cacheMu.Lock()
	defer f.cacheMu.Unlock()
	if f.cached == nil {
		return
	}
	if f.cachedSize += len(key) + len(h); f.cachedSize > memoLimit {
		f.cached = map[string]template.HTML{}
		f.cachedSize = len(key) + len(h)
	}
	f.cached[key] = h
}

// partialSalt returns the routeSalt of shared template name; cacheMu held.
func (f *funcs) partialSalt(name string) string {
	if v, ok := f.salts[name]; ok {
		return v
	}
	if f.partials == nil {
		f.partials = map[string]*routeTemplate{}
	}
	rt := f.partials[name]
	if rt == nil {
		ts := f.site.tmpl
		rt = analyse(ts.shared, name, ts.files)
		f.partials[name] = rt
	}
	v := routeSalt(f.state, rt)
	f.salts[name] = v
	return v
}

func newFuncs(s *Site) *funcs {
	return &funcs{site: s, md: markdown.New(s.cfg.Markdown.options())}
}

func (f *funcs) funcMap() template.FuncMap {
	return template.FuncMap{
		"url":       f.url,
		"cache":     f.cache,
		"cacheEach": f.cacheEach,
		"absurl":    f.absurl,
		"markdown":  f.markdown,
		"date":      dateFunc,
		"static":    f.staticURL,
		"inline":    f.inline,
		"integrity": f.integrity,
		"image":     f.image,
		"srcset":    f.srcset,
		"truncate":  truncate,
		"slugify":   slugify,
		"add":       add,
		"sub":       sub,
	}
}

// add returns a + b, or an error when the sum does not fit in an int.
func add(a, b int) (int, error) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, fmt.Errorf("add: %d + %d overflows an integer", a, b)
	}
	return c, nil
}

// sub returns a - b, or an error when the difference does not fit in an
// int.
func sub(a, b int) (int, error) {
	c := a - b
	if (c < a) != (b > 0) {
		return 0, fmt.Errorf("sub: %d - %d overflows an integer", a, b)
	}
	return c, nil
}

// url returns the escaped path of a route, filled from a row (or time for
// archives) or from name/value pairs.
func (f *funcs) url(name string, args ...any) (string, error) {
	r := f.site.route(name)
	if r == nil {
		return "", fmt.Errorf("url: no route named %q", name)
	}
	if r.pattern == nil {
		return "", fmt.Errorf("url: route %q has no path", name)
	}
	var get func(string) (any, bool)
	switch {
	case len(args) == 0:
		get = func(string) (any, bool) { return nil, false }
	case len(args) == 1:
		switch a := args[0].(type) {
		case Row:
			get = func(k string) (any, bool) { v, ok := a[k]; return v, ok }
		case map[string]any:
			get = func(k string) (any, bool) { v, ok := a[k]; return v, ok }
		case time.Time:
			get = func(k string) (any, bool) { return periodValue(a, k) }
		default:
			if v := r.pattern.vars(); len(v) == 1 {
				get = func(k string) (any, bool) { return a, k == v[0] }
			} else {
				return "", fmt.Errorf("url %q: pass a row, a time, or name/value pairs", name)
			}
		}
	default:
		if len(args)%2 != 0 {
			return "", fmt.Errorf("url %q: name/value arguments must come in pairs", name)
		}
		m := map[string]any{}
		for i := 0; i < len(args); i += 2 {
			k, ok := args[i].(string)
			if !ok {
				return "", fmt.Errorf("url %q: argument %d must be a column name", name, i+1)
			}
			m[k] = args[i+1]
		}
		get = func(k string) (any, bool) { v, ok := m[k]; return v, ok }
	}
	if r.Kind == KindArchive {
		inner := get
		get = func(k string) (any, bool) {
			v, ok := inner(k)
			if !ok {
				if t, tok := inner(r.Date); tok {
					if tt, ok := asTime(t); ok {
						return periodValue(tt, k)
					}
				}
			}
			return v, ok
		}
	}
	p, err := r.pattern.fill(get)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", name, err)
	}
	return bake.EscapePath(p), nil
}

func periodValue(t time.Time, k string) (any, bool) {
	switch k {
	case "year":
		return fmt.Sprintf("%04d", t.Year()), true
	case "month":
		return fmt.Sprintf("%02d", int(t.Month())), true
	case "day":
		return fmt.Sprintf("%02d", t.Day()), true
	}
	return nil, false
}

func (f *funcs) absurl(p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return f.site.cfg.Site.BaseURL + encodeURLPath(p)
}

// encodeURLPath percent-encodes what cannot stand in a URL: bytes outside
// ASCII, spaces and controls, the characters `"<>\^{|}` and a % that starts
// no %XX escape. What is already encoded (the output of url) stays as it
// is, and a ?query or #fragment keeps its meaning, as browsers do with a
// typed URL.
func encodeURLPath(p string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		keep := c > ' ' && c < 0x7f && !strings.ContainsRune("\"<>\\^`{|}", rune(c))
		if c == '%' {
			keep = i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2])
		}
		if keep {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(p)+16), p[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return p
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (f *funcs) markdown(v any) (template.HTML, error) {
	var src string
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		src = v
	case []byte:
		src = string(v)
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.String {
			return "", fmt.Errorf("markdown: the value is a %T, not text (a string or a TEXT column)", v)
		}
		src = rv.String()
	}
	var buf strings.Builder
	if err := f.md.Render(&buf, src); err != nil {
		return "", markdownError(err)
	}
	return template.HTML(buf.String()), nil
}

// markdownError names the setting of bake.toml's [markdown] that a value
// is past.
func markdownError(err error) error {
	var le *markdown.LimitError
	if !errors.As(err, &le) {
		return fmt.Errorf("markdown: %w", err)
	}
	switch le.Limit {
	case markdown.LimitSize:
		return fmt.Errorf("markdown: the value is %d bytes, more than markdown.max_size (%d) in bake.toml", le.Value, le.Max)
	case markdown.LimitDepth:
		return fmt.Errorf("markdown: line %d nests quotes or lists %d deep, more than markdown.max_depth (%d) in bake.toml", le.Line, le.Value, le.Max)
	case markdown.LimitTimeout:
		return fmt.Errorf("markdown: conversion stopped after %v, markdown.timeout in bake.toml (a value that takes this long is made of deeply nested or unclosed brackets, quotes or lists)", le.Timeout)
	}
	return fmt.Errorf("markdown: %w", err)
}

// options returns the limits of c for a [markdown.Renderer]; a timeout
// that does not parse is left to the default (check reports it).
func (c MarkdownConfig) options() markdown.Options {
	o := markdown.Options{MaxSize: c.MaxSize, MaxDepth: c.MaxDepth}
	if d, err := time.ParseDuration(c.Timeout); err == nil && d > 0 {
		o.Timeout = d
	}
	return o
}

func dateFunc(layout string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	t, ok := asTime(v)
	if !ok {
		return "", fmt.Errorf("date: %v (%T) is not a time", v, v)
	}
	return t.Format(layout), nil
}

// truncate returns the text v cut to at most n characters, at a word
// boundary, with "…"; a negative n or a value that is no text is an error.
func truncate(n int, v any) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("truncate: length %d is negative", n)
	}
	var s string
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		s = v
	case []byte:
		s = string(v)
	case fmt.Stringer:
		s = v.String()
	default:
		switch reflect.ValueOf(v).Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			s = fmt.Sprint(v)
		default:
			return "", fmt.Errorf("truncate: the value is a %T, not text", v)
		}
	}
	if utf8.RuneCountInString(s) <= n {
		return s, nil
	}
	cut := 0
	for i := range s {
		if cut == n {
			s = s[:i]
			break
		}
		cut++
	}
	if i := strings.LastIndexFunc(s, unicode.IsSpace); i > len(s)/2 {
		s = s[:i]
	}
	return strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…", nil
}

// slugify lowercases text, drops accents and joins ASCII words with "-",
// as a {column|slugify} path placeholder does (see slug); NULL makes "".
func slugify(v any) string {
	s, _ := valueText(v)
	return slug(s)
}
