package sqlsite

// Static files and assets: the [site] static folders, [assets] of
// bake.toml, the pages of the files the asset pipeline makes, and the
// template functions static, inline and integrity.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/asset"
	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
)

// StaticDirs are the static folders of [site] static: one folder as a
// string ("static") or several as a list (["static", "vendor/static"]), a
// file of a later folder overriding the file of the same name in an
// earlier one.
type StaticDirs []string

// UnmarshalText reads static = "folder".
func (d *StaticDirs) UnmarshalText(b []byte) error {
	*d = StaticDirs{string(b)}
	return nil
}

// String names the folders as bake.toml would.
func (d StaticDirs) String() string {
	if len(d) == 1 {
		return d[0]
	}
	return "[" + strings.Join(d, ", ") + "]"
}

// StaticURLEnv is the environment variable that overrides [site]
// static_url, so that staging and production point at different hosts.
const StaticURLEnv = "BAKE_STATIC_URL"

// AssetsConfig is the [assets] table: what the build does to static files
// (see docs/assets.md).
type AssetsConfig struct {
	// Minify minifies CSS and JavaScript (esbuild), SVG, JSON and XML.
	// If unset, true.
	Minify *bool `toml:"minify"`
	// Fingerprint serves stylesheets, scripts, images and fonts at names
	// holding a hash of their content (css/app.3f2a1c9b.css), which
	// {{static}} returns. If unset, true.
	Fingerprint *bool `toml:"fingerprint"`
	// Originals writes fingerprinted files at their own names too, for
	// links that do not go through {{static}}. If unset, true.
	Originals *bool `toml:"originals"`
	// SourceMaps writes a source map beside each bundle. If unset, true.
	SourceMaps *bool `toml:"source_maps"`
	// Keep are names never fingerprinted, besides favicons, .well-known/
	// and service workers (asset.DefaultKeep).
	Keep []string `toml:"keep"`
	// Targets are the browsers CSS and JavaScript are made for, as
	// esbuild's --target: ["es2020"], ["chrome100", "safari15"].
	Targets []string `toml:"targets"`
	// Crush recompresses PNG, JPEG and GIF images losslessly (Go's PNG
	// encoder; jpegtran, oxipng or optipng, gifsicle when on PATH), once
	// per image ever (cached). If unset, true.
	Crush *bool `toml:"crush"`
	// Images are the responsive variants of images: [assets.images].
	Images ImagesConfig `toml:"images"`
	// Bundles are the [[assets.bundle]] tables.
	Bundles []BundleConfig `toml:"bundle"`
}

// ImagesConfig is [assets.images]: the resized copies made of every PNG
// and JPEG image, for {{image}} and {{srcset}}.
type ImagesConfig struct {
	Widths  []int `toml:"widths"`  // in pixels: [320, 640, 1280]; if empty, none
	WebP    bool  `toml:"webp"`    // a WebP of each width too, with cwebp (on PATH)
	Quality int   `toml:"quality"` // JPEG and WebP quality, 1 to 100; if zero, 80
}

// BundleConfig is one [[assets.bundle]]: a file made of others.
type BundleConfig struct {
	Name   string   `toml:"name"`   // the file made: "css/app.css"
	Entry  string   `toml:"entry"`  // a static file whose imports are bundled
	Files  []string `toml:"files"`  // or static files joined in order
	Format string   `toml:"format"` // JavaScript: iife (default), esm, cjs
}

func orTrue(b *bool) bool { return b == nil || *b }

// checkStatic applies the defaults of the static settings and reports
// what is wrong with them; getenv reads StaticURLEnv.
func (c *Config) checkStatic(li *lineIndex, getenv func(string) string, add func(line int, route string, format string, args ...any)) {
	if len(c.Site.Static) == 0 {
		c.Site.Static = StaticDirs{"static"}
	}
	for _, v := range c.Site.Static {
		if v == "" || filepath.IsAbs(v) || strings.Contains(filepath.ToSlash(v), "../") || v == ".." {
			add(li.key("static"), "", "site.static %q must be a folder inside the site folder", v)
		}
	}
	u, where := c.Site.StaticURL, "site.static_url"
	if v := getenv(StaticURLEnv); v != "" {
		u, where = v, StaticURLEnv
	}
	switch {
	case u == "":
		u = "/"
	case strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
	default:
		line := 0
		if where != StaticURLEnv {
			line = li.key("static_url")
		}
		add(line, "", "%s %q must be a path starting with / or an absolute http(s) URL, like https://cdn.example.org/", where, u)
	}
	c.Site.StaticURL = u
	for i, b := range c.Assets.Bundles {
		line := li.bundle(i)
		if b.Entry != "" && len(b.Files) > 0 {
			add(line, "", "bundle %q: give entry or files, not both", b.Name)
		}
	}
}

var bundleHeader = regexp.MustCompile(`^\s*\[\[\s*assets\s*\.\s*bundle\s*\]\]`)

// bundle returns the line of the header of [[assets.bundle]] number i.
func (li *lineIndex) bundle(i int) int {
	if li == nil {
		return 0
	}
	for n, l := range li.lines {
		if bundleHeader.Match(l) {
			if i == 0 {
				return n + 1
			}
			i--
		}
	}
	return 0
}

// newPipeline makes the asset pipeline of a site.
func newPipeline(cfg *Config, dir, cacheDir string, opts Options) (*asset.Pipeline, error) {
	file := filepath.Join(dir, ConfigFile)
	ac := asset.Config{
		Root:        dir,
		CacheDir:    cacheDir,
		Minify:      orTrue(cfg.Assets.Minify),
		Fingerprint: orTrue(cfg.Assets.Fingerprint),
		Originals:   orTrue(cfg.Assets.Originals),
		SourceMaps:  orTrue(cfg.Assets.SourceMaps),
		Crush:       orTrue(cfg.Assets.Crush),
		Images:      asset.Images{Widths: cfg.Assets.Images.Widths, WebP: cfg.Assets.Images.WebP, Quality: cfg.Assets.Images.Quality},
		Keep:        cfg.Assets.Keep,
		Targets:     cfg.Assets.Targets,
		URLPrefix:   cfg.Site.StaticURL,
		Logger:      opts.Logger,
	}
	for _, d := range cfg.Site.Static {
		ac.Dirs = append(ac.Dirs, filepath.Join(dir, d))
	}
	for i, b := range cfg.Assets.Bundles {
		ac.Bundles = append(ac.Bundles, asset.Bundle{Name: b.Name, Entry: b.Entry, Files: b.Files, Format: b.Format,
			File: file, Line: cfg.lines.bundle(i)})
	}
	p, err := asset.New(ac)
	if err != nil {
		probs := asProblems(err, file)
		for _, e := range probs {
			if be, ok := e.(*bake.Error); ok && errors.Is(be.Err, asset.ErrNoCwebp) && be.Line == 0 {
				be.Line = cfg.lines.key("webp")
			}
		}
		return nil, probs
	}
	return p, nil
}

// asProblems turns joined errors into Problems, each a *bake.Error (in
// file, when it names none).
func asProblems(err error, file string) Problems {
	var probs Problems
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var be *bake.Error
		if !errors.As(err, &be) {
			be = &bake.Error{File: file, Err: err}
		}
		probs = append(probs, be)
	}
	walk(err)
	return probs
}

// runAssets brings the site's assets up to date (work is cached by
// content hash: nothing is processed again when no source changed) and
// makes them the ones templates see.
func (s *Site) runAssets(ctx context.Context) (*asset.Set, Problems) {
	set, err := s.assets.Run(ctx)
	if set != nil {
		s.assetSet.Store(set)
	}
	if err != nil {
		return set, asProblems(err, "")
	}
	return set, nil
}

// Assets returns the assets of the last pass, or nil before the first.
func (s *Site) Assets() *asset.Set { return s.assetSet.Load() }

// AssetPipeline returns the site's asset pipeline.
func (s *Site) AssetPipeline() *asset.Pipeline { return s.assets }

// Close releases what the site holds besides its database: the temporary
// asset cache of a site made with Options.AssetCache "-".
func (s *Site) Close() error { return s.assets.Close() }

// assetState adds the assets of set to a state: asset:NAME is the hash of
// what the asset's files hold, so that a page using the asset is rendered
// again exactly when its fingerprinted URL (or inlined content) changed.
func assetState(st map[string]string, set *asset.Set, names *[]string) {
	for _, n := range set.Names() {
		a, _ := set.Lookup(n)
		st["asset:"+n] = a.Hash
		*names = append(*names, "asset:"+n)
	}
}

// staticFiles yields the files of every asset as pages.
func (b *buildRun) staticFiles() bool {
	set := b.site.Assets()
	for _, n := range set.Names() {
		if !b.staticAsset(set, n) {
			return false
		}
	}
	return true
}

// staticAsset yields the files of one asset: at its fingerprinted name,
// its source map, and at its own name.
func (b *buildRun) staticAsset(set *asset.Set, name string) bool {
	if _, err := bake.FileName("/" + name); err != nil {
		return b.fail(nil, "/"+name, "", fmt.Errorf("static file %s: %w", name, err))
	}
	for _, f := range set.Files(name) {
		p := &bake.Page{
			Path: f.Path, Route: staticRoute, Key: name, ContentType: f.Type,
			Deps:   []bake.Dep{bake.AssetDep(name)},
			Source: f.Source,
		}
		b.site.stats[staticRoute].Rows.Add(1)
		if !b.emit(p) {
			return false
		}
	}
	return true
}

// staticFiles yields the files of the assets that changed, and removes
// those no longer made: an asset gone, or the old fingerprinted name of
// one that changed.
func (u *updateRun) staticFiles(changes []bake.Change) bool {
	set := u.site.Assets()
	for _, c := range changes {
		if c.Dep.Kind() != bake.KindAsset || c.Dep.Name() == "*" {
			continue
		}
		name := c.Dep.Name()
		u.reason = string(c.Dep) + " changed"
		var made []string
		for _, f := range set.Files(name) {
			made = append(made, pagePath(f.Path))
		}
		if len(made) > 0 && !u.b.staticAsset(set, name) {
			return false
		}
		old, err := u.prev.Paths(u.b.ctx, staticRoute, name)
		if err != nil {
			u.fail(err)
			return false
		}
		why := string(c.Dep) + " deleted"
		if len(made) > 0 {
			why = string(c.Dep) + " changed: file no longer made"
		}
		for _, p := range old {
			if !slices.Contains(made, p) && !u.remove(staticRoute, p, why) {
				return false
			}
		}
	}
	return true
}

// assetFuncs are the template functions whose first argument names a
// static file: a page calling one depends on that asset.
var assetFuncs = map[string]bool{"static": true, "inline": true, "integrity": true, "image": true, "srcset": true}

// lookupAsset returns the asset a template names.
func (f *funcs) lookupAsset(fn, name string) (*asset.Asset, error) {
	set := f.site.Assets()
	a, ok := set.Lookup(name)
	if !ok && set.Failed(name) {
		return nil, fmt.Errorf("%s %q: the file could not be made (see its problem)", fn, name)
	}
	if !ok {
		if _, err := bake.FileName("/" + strings.TrimPrefix(name, "/")); err != nil {
			return nil, fmt.Errorf("%s %q: %w", fn, name, err)
		}
		return nil, fmt.Errorf("%s %q: no such file in %s, nor a bundle of [assets]", fn, name, f.site.cfg.Site.Static)
	}
	return a, nil
}

// staticURL returns the URL of a static file or bundle: its fingerprinted
// path, after the site's static URL.
func (f *funcs) staticURL(name string) (string, error) {
	a, err := f.lookupAsset("static", name)
	if err != nil {
		return "", err
	}
	return f.site.cfg.Site.StaticURL + strings.TrimPrefix(bake.EscapePath(a.Path), "/"), nil
}

// assetURL returns the URL of a path of the static files.
func (f *funcs) assetURL(p string) string {
	return f.site.cfg.Site.StaticURL + strings.TrimPrefix(bake.EscapePath(p), "/")
}

// image returns the URL of the variant of an image w pixels wide, in its
// own format or, with "webp", as WebP: the image itself when it is not
// wider than w. A width [assets.images] widths does not list is an error.
func (f *funcs) image(name string, w int, format ...string) (string, error) {
	a, err := f.lookupAsset("image", name)
	if err != nil {
		return "", err
	}
	fm, err := imageFormat("image", name, format)
	if err != nil {
		return "", err
	}
	if !slices.Contains(f.site.cfg.Assets.Images.Widths, w) {
		return "", fmt.Errorf("image %q %d: no such width in [assets.images] widths %v of bake.toml; add %d there (every image gets a copy of each width, made once and cached)", name, w, f.site.cfg.Assets.Images.Widths, w)
	}
	if fm == "webp" && !f.site.cfg.Assets.Images.WebP {
		return "", fmt.Errorf("image %q %d \"webp\": set webp = true in [assets.images] of bake.toml", name, w)
	}
	if v, ok := a.Variant(w, fm); ok {
		return f.assetURL(v.Path), nil
	}
	if a.Width == 0 {
		return "", fmt.Errorf("image %q: not a PNG or JPEG image", name)
	}
	return f.assetURL(a.Path), nil // not wider than w
}

// srcset returns a srcset attribute value: every variant of an image
// ("webp" for the WebP ones), then the image itself, each with its width.
func (f *funcs) srcset(name string, format ...string) (string, error) {
	a, err := f.lookupAsset("srcset", name)
	if err != nil {
		return "", err
	}
	fm, err := imageFormat("srcset", name, format)
	if err != nil {
		return "", err
	}
	if a.Width == 0 {
		return "", fmt.Errorf("srcset %q: not a PNG or JPEG image, or [assets.images] widths is empty", name)
	}
	var parts []string
	for _, v := range a.Variants {
		if v.Format == "webp" == (fm == "webp") {
			parts = append(parts, fmt.Sprintf("%s %dw", f.assetURL(v.Path), v.Width))
		}
	}
	if fm != "webp" {
		parts = append(parts, fmt.Sprintf("%s %dw", f.assetURL(a.Path), a.Width))
	}
	return strings.Join(parts, ", "), nil
}

// imageFormat reads the optional format argument of image and srcset.
func imageFormat(fn, name string, format []string) (string, error) {
	switch {
	case len(format) == 0:
		return "", nil
	case len(format) == 1 && format[0] == "webp":
		return "webp", nil
	}
	return "", fmt.Errorf("%s %q: the format can only be \"webp\"", fn, name)
}

// integrity returns the Subresource Integrity value of a static file or
// bundle, for integrity="".
func (f *funcs) integrity(name string) (string, error) {
	set := f.site.Assets()
	a, err := f.lookupAsset("integrity", name)
	if err != nil {
		return "", err
	}
	v, err := set.Integrity(a)
	if err != nil {
		return "", fmt.Errorf("integrity %q: %w", name, err)
	}
	return v, nil
}

// closingTag finds what would end a <style> or <script> element early.
var closingTag = regexp.MustCompile(`(?i)</(style|script)|<!--`)

// inline returns the processed bytes of a static file or bundle, to embed
// in the page: a stylesheet as CSS (inside <style>), a script as JS
// (inside <script>), SVG as HTML. Content that would end its element
// early (</style>, </script>, <!--) is an error rather than a broken page.
func (f *funcs) inline(name string) (any, error) {
	a, err := f.lookupAsset("inline", name)
	if err != nil {
		return nil, err
	}
	data, err := a.Content()
	if err != nil {
		return nil, fmt.Errorf("inline %q: %w", name, err)
	}
	text := strings.TrimRight(string(data), "\n")
	typ, _, _ := strings.Cut(a.Type, ";")
	switch typ {
	case "text/css", "text/javascript", "application/javascript":
		if m := closingTag.FindString(text); m != "" {
			return nil, fmt.Errorf("inline %q: the file holds %q, which would end the element it is inlined in; link it with {{static}} instead", name, m)
		}
		// A source map comment would point at the page's folder.
		if i := strings.LastIndex(text, "# sourceMappingURL="); a.MapPath != "" && i >= 2 {
			text = strings.TrimRight(text[:i-2], "\n")
		}
		if typ == "text/css" {
			return template.CSS(text), nil
		}
		return template.JS(text), nil
	case "image/svg+xml":
		return template.HTML(text), nil
	}
	return nil, fmt.Errorf("inline %q: a %s file cannot be inlined; inline CSS, JavaScript or SVG", name, typ)
}

// assetCacheDir returns the folder of the asset cache of a site.
func assetCacheDir(dir string, opts Options) string {
	switch opts.AssetCache {
	case "":
		return filepath.Join(dir, bake.ReservedDir, "assets")
	case "-":
		return ""
	}
	return opts.AssetCache
}
