// Package asset turns a site's static source files into the files a build
// serves: CSS and JavaScript bundled and minified with esbuild, SVG, JSON
// and XML minified, and each processed file given a fingerprinted name
// (css/app.3f2a1c9b.css) that can be cached forever.
//
// A [Pipeline] reads one or more static folders, later ones overriding
// earlier ones, plus the bundles of its [Config], and returns a [Set]: the
// logical name of every asset (css/app.css), the URL path it is served at,
// and the files to write. Work is cached by content hash in
// [Config.CacheDir]: a file is processed once per version of its inputs,
// and a run with nothing changed does no processing at all (see
// [Pipeline.Processed]).
package asset

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"mime"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bakehq/bake"
)

// Config says where the sources are and what to do with them. Its zero
// value copies every file of Dirs as it is, under its own name.
type Config struct {
	// Dirs are the static folders, in order: a file of a later folder
	// overrides the file of the same name in an earlier one.
	Dirs []string
	// Root is the folder that bare JavaScript imports (import "lib") are
	// resolved from, through its node_modules. If empty, the first of Dirs.
	Root string
	// CacheDir keeps processed files and what they were made from,
	// between runs and processes. If empty, a temporary folder, removed
	// by [Pipeline.Close].
	CacheDir string
	// URLPrefix is what JavaScript imports of other files (import logo
	// from "./logo.png") get before the file's path: the site's static
	// URL, "https://cdn.example.org/". If empty, "/".
	URLPrefix string
	// Minify minifies CSS and JavaScript (esbuild) and SVG, JSON and XML
	// (tdewolff/minify).
	Minify bool
	// Fingerprint gives each file of a fingerprinted type (see
	// [Fingerprinted]) a name holding a hash of its content, but for names
	// matching Keep.
	Fingerprint bool
	// Originals keeps fingerprinted files at their own names too, so that
	// links written by hand (in Markdown, in other sites) still work.
	Originals bool
	// Keep are the names never fingerprinted, besides [DefaultKeep]:
	// patterns of path.Match, matched against the whole name or, for a
	// pattern without a slash, its last element; "dir/**" matches all of
	// a folder.
	Keep []string
	// Targets are the browsers or language level CSS and JavaScript are
	// made for, as esbuild's --target: "es2020", "chrome100",
	// "firefox102", "safari15". If empty, esbuild's default (esnext).
	Targets []string
	// SourceMaps writes a source map beside each bundle (name.HASH.css.map).
	SourceMaps bool
	// Crush recompresses PNG, JPEG and GIF images losslessly, keeping the
	// result when smaller: PNG with Go's encoder, and with jpegtran,
	// oxipng or optipng, and gifsicle when they are on PATH.
	Crush bool
	// Images are the responsive variants made of images.
	Images Images
	// Bundles are the bundles to make.
	Bundles []Bundle
	// Logger receives debug logs. If nil, logs are discarded.
	Logger *slog.Logger
}

// Bundle is one file made of several: an entry point whose imports are
// resolved and inlined (esbuild), or files joined in order.
type Bundle struct {
	// Name is the asset's logical name: css/app.css, js/app.js. Its
	// extension says what it is (.css, .js or .mjs). A bundle overrides a
	// static file of the same name.
	Name string
	// Entry is the static file whose imports make the bundle: CSS
	// @import, JavaScript import and require; url() and imports of other
	// files give their fingerprinted URLs.
	Entry string
	// Files are static files joined in order, as if each were a <script>
	// or <link> of its own (JavaScript is not wrapped in a module).
	Files []string
	// Format is the JavaScript output format of an entry bundle: "iife"
	// (the default), "esm" or "cjs".
	Format string
	// File and Line say where the bundle is defined, for problems.
	File string
	Line int
}

// DefaultKeep are the names that browsers and crawlers ask for by name,
// never fingerprinted.
var DefaultKeep = []string{".well-known/**", "favicon.*", "apple-touch-icon*", "android-chrome-*", "mstile-*",
	"safari-pinned-tab.svg", "sw.js", "service-worker.js"}

// fingerprintedExt are the extensions of the files that are fingerprinted.
var fingerprintedExt = map[string]bool{
	".css": true, ".js": true, ".mjs": true, ".svg": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".avif": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
}

// Fingerprinted reports whether files named like name are fingerprinted
// (when [Config.Fingerprint] is on and name does not match Keep):
// stylesheets, scripts, images and fonts. Other files (robots.txt, PDFs,
// JSON, XML, HTML) keep their names, which others link to.
func Fingerprinted(name string) bool {
	return fingerprintedExt[strings.ToLower(path.Ext(name))]
}

// Asset is one logical file of the site and what it became.
type Asset struct {
	// Name is the logical name, as a template names it: css/app.css.
	Name string
	// Path is the URL path it is served at: /css/app.3f2a1c9b.css, or
	// /css/app.css when not fingerprinted.
	Path string
	// Type is its media type.
	Type string
	// Hash is the hex SHA-256 of its bytes.
	Hash string
	// Source is the file that holds its bytes: the source file, or a
	// processed file in the cache.
	Source string
	// MapSource, when set, holds its source map, served at MapPath.
	MapSource, MapPath string
	// Kind says what was done: "copy", "minify", "bundle".
	Kind string
	// SourceBytes is the size of its sources; Bytes its own size; Gzip and
	// Brotli its size compressed (zero for types not worth compressing).
	SourceBytes, Bytes, Gzip, Brotli int64
	// Original says it is also written at its own name.
	Original bool
	// Width and Height are an image's size in pixels, when it has
	// variants.
	Width, Height int
	// Variants are an image's resized copies (see [Images]).
	Variants []Variant

	integrity string
}

// File is one file a build writes for an asset.
type File struct {
	Path   string // URL path, /css/app.3f2a1c9b.css
	Name   string // the asset's logical name
	Source string // the file holding its bytes
	Type   string
}

// Set is the result of a run: every asset by name.
type Set struct {
	assets map[string]*Asset
	failed map[string]bool // names whose processing failed
	mu     sync.Mutex
}

// Failed reports whether the asset of a name exists but could not be made
// (the run returned its problem).
func (s *Set) Failed(name string) bool {
	return s != nil && s.failed[strings.TrimPrefix(name, "/")]
}

// Lookup returns the asset of a logical name ("css/app.css"; a leading
// slash is ignored).
func (s *Set) Lookup(name string) (*Asset, bool) {
	if s == nil {
		return nil, false
	}
	a, ok := s.assets[strings.TrimPrefix(name, "/")]
	return a, ok
}

// Names returns the logical names, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.assets))
}

// Files returns the files of asset name: at its fingerprinted path, its
// source map, and at its own name when kept there.
func (s *Set) Files(name string) []File {
	a, ok := s.Lookup(name)
	if !ok {
		return nil
	}
	files := []File{{Path: a.Path, Name: a.Name, Source: a.Source, Type: a.Type}}
	if a.MapSource != "" {
		files = append(files, File{Path: a.MapPath, Name: a.Name, Source: a.MapSource, Type: "application/json"})
	}
	if own := "/" + a.Name; a.Original && own != a.Path {
		files = append(files, File{Path: own, Name: a.Name, Source: a.Source, Type: a.Type})
	}
	for _, v := range a.Variants {
		files = append(files, File{Path: v.Path, Name: a.Name, Source: v.Source, Type: v.Type})
	}
	return files
}

// Content reads the bytes of a.
func (a *Asset) Content() ([]byte, error) {
	b, err := os.ReadFile(a.Source)
	if err != nil {
		return nil, fmt.Errorf("read asset %s: %w", a.Name, err)
	}
	return b, nil
}

// Integrity returns the Subresource Integrity value of a: "sha384-" and
// the base64 of its SHA-384.
func (s *Set) Integrity(a *Asset) (string, error) {
	s.mu.Lock()
	v := a.integrity
	s.mu.Unlock()
	if v != "" {
		return v, nil
	}
	b, err := a.Content()
	if err != nil {
		return "", err
	}
	sum := sha512.Sum384(b)
	v = "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
	s.mu.Lock()
	a.integrity = v
	s.mu.Unlock()
	return v, nil
}

// Pipeline makes Sets. It is safe for concurrent use; runs are serialised.
type Pipeline struct {
	cfg    Config
	keep   []string
	log    *slog.Logger
	cache  *cache
	engine engineOptions
	tools  tools

	mu        sync.Mutex // one run at a time
	processed atomic.Int64
}

// New checks cfg and returns its pipeline. Problems with bundles and
// targets are [*bake.Error]s naming the bundle's file and line, joined.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.URLPrefix == "" {
		cfg.URLPrefix = "/"
	}
	if cfg.Root == "" && len(cfg.Dirs) > 0 {
		cfg.Root = cfg.Dirs[0]
	}
	p := &Pipeline{cfg: cfg, log: cfg.Logger, keep: append(slices.Clone(DefaultKeep), cfg.Keep...)}
	var errs []error
	eng, err := parseTargets(cfg.Targets)
	if err != nil {
		errs = append(errs, err)
	}
	p.engine = eng
	if cfg.Crush || cfg.Images.WebP {
		p.tools = findTools()
	}
	if cfg.Images.WebP && len(cfg.Images.Widths) > 0 && p.tools.cwebp == "" {
		errs = append(errs, ErrNoCwebp)
	}
	for _, w := range cfg.Images.Widths {
		if w <= 0 || w > 10000 {
			errs = append(errs, fmt.Errorf("image width %d: use a width in pixels, 1 to 10000", w))
		}
	}
	if q := cfg.Images.Quality; q < 0 || q > 100 {
		errs = append(errs, fmt.Errorf("image quality %d: use 1 to 100 (0 for the default, 80)", q))
	}
	for _, k := range cfg.Keep {
		if _, err := path.Match(k, ""); err != nil {
			errs = append(errs, fmt.Errorf("keep %q: %w", k, err))
		}
	}
	seen := map[string]bool{}
	for _, b := range cfg.Bundles {
		if err := checkBundle(b); err != nil {
			errs = append(errs, &bake.Error{File: b.File, Line: b.Line, Err: err})
		}
		if seen[b.Name] {
			errs = append(errs, &bake.Error{File: b.File, Line: b.Line, Err: fmt.Errorf("bundle %q: two bundles have this name", b.Name)})
		}
		seen[b.Name] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c, err := openCache(cfg.CacheDir)
	if err != nil {
		return nil, err
	}
	p.cache = c
	return p, nil
}

// checkBundle reports what is wrong with a bundle's definition.
func checkBundle(b Bundle) error {
	if b.Name == "" {
		return errors.New("a bundle needs a name, the file it makes: name = \"css/app.css\"")
	}
	if err := CheckName(b.Name); err != nil {
		return fmt.Errorf("bundle %q: %w", b.Name, err)
	}
	switch path.Ext(b.Name) {
	case ".css", ".js", ".mjs":
	default:
		return fmt.Errorf("bundle %q: the name must end in .css, .js or .mjs, which says what the bundle is", b.Name)
	}
	if (b.Entry == "") == (len(b.Files) == 0) {
		return fmt.Errorf("bundle %q: give either entry (a file whose imports are bundled) or files (joined in order)", b.Name)
	}
	for _, f := range append([]string{b.Entry}, b.Files...) {
		if f == "" {
			continue
		}
		if err := CheckName(f); err != nil {
			return fmt.Errorf("bundle %q: %w", b.Name, err)
		}
		if ext := path.Ext(f); kindOf(ext) != kindOf(path.Ext(b.Name)) {
			return fmt.Errorf("bundle %q: %s is not a %s file", b.Name, f, strings.TrimPrefix(path.Ext(b.Name), "."))
		}
	}
	switch b.Format {
	case "", "iife", "esm", "cjs":
	default:
		return fmt.Errorf("bundle %q: format %q: use iife, esm or cjs", b.Name, b.Format)
	}
	if b.Format != "" && path.Ext(b.Name) == ".css" {
		return fmt.Errorf("bundle %q: format is for JavaScript bundles", b.Name)
	}
	return nil
}

// kindOf groups extensions: CSS, scripts, and the rest.
func kindOf(ext string) string {
	switch strings.ToLower(ext) {
	case ".css":
		return "css"
	case ".js", ".mjs", ".ts", ".jsx", ".tsx", ".cjs":
		return "js"
	}
	return ext
}

// Close removes the temporary cache folder of a Pipeline made without
// [Config.CacheDir].
func (p *Pipeline) Close() error { return p.cache.close() }

// Processed returns how many times the pipeline has processed a file
// (bundled, minified) since it was made: a run that finds every result in
// its cache adds nothing.
func (p *Pipeline) Processed() int64 { return p.processed.Load() }

// source is one static source file.
type source struct {
	name string // logical name
	file string // where it is
	size int64
	sha  string // hex SHA-256 of its bytes
}

// Run reads the static folders and returns the assets. Problems with
// single files (a CSS syntax error, an import of a missing file) are
// [*bake.Error]s naming the file and line, joined; the Set then has
// every other asset.
func (p *Pipeline) Run(ctx context.Context) (*Set, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	srcs, err := p.sources()
	if err != nil {
		return nil, err
	}
	r := &run{p: p, ctx: ctx, srcs: srcs, set: &Set{assets: map[string]*Asset{}, failed: map[string]bool{}}}
	r.do()
	if err := p.cache.save(); err != nil {
		r.problem(err)
	}
	// A file that fails on its own and inside a bundle is one problem.
	var errs []error
	seen := map[string]bool{}
	for _, err := range r.errs {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	return r.set, errors.Join(errs...)
}

// sources walks the static folders: later folders override earlier ones.
func (p *Pipeline) sources() (map[string]*source, error) {
	srcs := map[string]*source{}
	for _, dir := range p.cfg.Dirs {
		err := filepath.WalkDir(dir, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if skipped(dir, f, d) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, f)
			name := filepath.ToSlash(rel)
			sha, err := p.cache.fileHash(f, fi)
			if err != nil {
				return err
			}
			srcs[name] = &source{name: name, file: f, size: fi.Size(), sha: sha}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read static files in %s: %w", dir, err)
		}
	}
	return srcs, nil
}

// skipped reports whether the walk of folder dir leaves out f: dot-files
// and dot-folders, but for a .well-known folder at the top.
func skipped(dir, f string, d fs.DirEntry) bool {
	name := d.Name()
	if !strings.HasPrefix(name, ".") || f == dir {
		return false
	}
	return !(d.IsDir() && name == bake.WellKnownDir && filepath.Dir(f) == filepath.Clean(dir))
}

// run is one Run.
type run struct {
	p    *Pipeline
	ctx  context.Context
	srcs map[string]*source
	set  *Set

	mu   sync.Mutex
	errs []error
}

func (r *run) problem(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// fail records the problem of the asset name.
func (r *run) fail(name string, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.set.failed[name] = true
	r.mu.Unlock()
}

func (r *run) add(a *Asset) {
	r.mu.Lock()
	r.set.assets[a.Name] = a
	r.mu.Unlock()
}

// do makes every asset: first the files that refer to nothing (images,
// fonts, SVG), then CSS and JavaScript, whose url() and imports name the
// first ones' fingerprinted paths.
func (r *run) do() {
	bundles := map[string]Bundle{}
	for _, b := range r.p.cfg.Bundles {
		bundles[b.Name] = b
	}
	var first, second []string
	for _, name := range slices.Sorted(maps.Keys(r.srcs)) {
		if _, ok := bundles[name]; ok {
			continue
		}
		if kindOf(path.Ext(name)) == "css" || kindOf(path.Ext(name)) == "js" {
			second = append(second, name)
		} else {
			first = append(first, name)
		}
	}
	r.parallel(first, func(name string) { r.file(r.srcs[name]) })
	work := append(slices.Clone(second), slices.Sorted(maps.Keys(bundles))...)
	r.parallel(work, func(name string) {
		if b, ok := bundles[name]; ok {
			r.bundle(b)
			return
		}
		r.file(r.srcs[name])
	})
}

// parallel calls f for each name, on as many goroutines as there are CPUs.
func (r *run) parallel(names []string, f func(string)) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(names), 1)) {
		wg.Go(func() {
			for n := range ch {
				f(n)
			}
		})
	}
	for _, n := range names {
		if r.ctx.Err() != nil {
			break
		}
		ch <- n
	}
	close(ch)
	wg.Wait()
	if err := r.ctx.Err(); err != nil {
		r.problem(err)
	}
}

// keep reports whether name keeps its own name only.
func (p *Pipeline) kept(name string) bool {
	for _, k := range p.keep {
		if dir, ok := strings.CutSuffix(k, "/**"); ok {
			if strings.HasPrefix(name, dir+"/") {
				return true
			}
			continue
		}
		if ok, _ := path.Match(k, name); ok {
			return true
		}
		if !strings.Contains(k, "/") {
			if ok, _ := path.Match(k, path.Base(name)); ok {
				return true
			}
		}
	}
	return false
}

// finish fills in where an asset is served and adds it to the set.
func (r *run) finish(a *Asset) {
	p := r.p
	a.Path = "/" + a.Name
	a.Original = true
	if p.cfg.Fingerprint && Fingerprinted(a.Name) && !p.kept(a.Name) {
		a.Path = "/" + FingerprintName(a.Name, a.Hash)
		a.Original = p.cfg.Originals
	}
	if a.Type == "" {
		a.Type = contentType(a.Name)
	}
	r.add(a)
}

// contentType returns the media type of a file name.
func contentType(name string) string {
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return ct
}

// hashFile returns the hex SHA-256 of a file.
func hashFile(f string) (string, error) {
	fh, err := os.Open(f)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
