package asset

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/evanw/esbuild/pkg/api"
	"github.com/google/go-cmp/cmp"
)

// TestWorkCached: a run with no source changed processes nothing, in the
// same Pipeline or a new one on the same cache folder (a new bake
// process); an edit processes the file and the bundles that read it, and
// nothing else; reverting it processes nothing (work is kept by content).
func TestWorkCached(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, "testdata/site.txtar")
	cfg := testConfig(dir)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := describe(t, mustRun(t, p))
	cold := p.Processed()
	// Every processed file: 3 bundles, 3 stylesheets, 5 scripts, SVG,
	// JSON.
	if cold != 13 {
		t.Errorf("cold run processed %d files, want 13", cold)
	}
	mustRun(t, p)
	if n := p.Processed() - cold; n != 0 {
		t.Errorf("warm run processed %d files", n)
	}
	p2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(t, mustRun(t, p2)); string(got) != string(first) {
		t.Errorf("a new pipeline made other assets:\n%s", cmp.Diff(string(first), string(got)))
	}
	if n := p2.Processed(); n != 0 {
		t.Errorf("a new pipeline on the same cache processed %d files", n)
	}

	// base.css is read by css/main.css and the bundle css/app.css.
	base := filepath.Join(dir, "static/css/base.css")
	old, _ := os.ReadFile(base)
	if err := os.WriteFile(base, []byte("body { margin: 1px; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := p2.Processed()
	set := mustRun(t, p2)
	if n := p2.Processed() - before; n != 3 {
		t.Errorf("an edit of base.css processed %d files, want 3 (base.css, main.css, the bundle)", n)
	}
	if a, _ := set.Lookup("css/app.css"); !strings.Contains(readAsset(t, a), "margin:1px") {
		t.Errorf("bundle not made again: %s", readAsset(t, a))
	}
	if err := os.WriteFile(base, old, 0o644); err != nil {
		t.Fatal(err)
	}
	before = p2.Processed()
	mustRun(t, p2)
	if n := p2.Processed() - before; n != 0 {
		t.Errorf("reverting base.css processed %d files, want none", n)
	}
}

func readAsset(t testing.TB, a *Asset) string {
	t.Helper()
	b, err := a.Content()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSettings: without fingerprints files keep their names; without
// originals a fingerprinted file is only at its fingerprinted name, but
// for the names kept (favicons, .well-known); without minify files are
// copied as they are.
func TestSettings(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, "testdata/site.txtar")
	os.MkdirAll(filepath.Join(dir, "static/.well-known"), 0o755)
	os.WriteFile(filepath.Join(dir, "static/.well-known/logo.png"), []byte("x"), 0o644)
	paths := func(cfg Config, names ...string) []string {
		cfg.CacheDir = ""
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		set := mustRun(t, p)
		var out []string
		for _, n := range names {
			for _, f := range set.Files(n) {
				out = append(out, f.Path)
			}
		}
		return out
	}
	hash := regexp.MustCompile(`\.[0-9a-f]{8}\.`)
	mask := func(ps []string) []string {
		for i, p := range ps {
			ps[i] = hash.ReplaceAllString(p, ".HASH.")
		}
		return ps
	}
	names := []string{"css/plain.css", "favicon.png", ".well-known/logo.png", "robots.txt"}
	cfg := testConfig(dir)
	if diff := cmp.Diff([]string{"/css/plain.HASH.css", "/css/plain.css", "/favicon.png", "/.well-known/logo.png", "/robots.txt"}, mask(paths(cfg, names...))); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	cfg.Originals = false
	if diff := cmp.Diff([]string{"/css/plain.HASH.css", "/favicon.png", "/.well-known/logo.png", "/robots.txt"}, mask(paths(cfg, names...))); diff != "" {
		t.Errorf("originals = false (-want +got):\n%s", diff)
	}
	cfg.Keep = []string{"css/*.css"}
	if diff := cmp.Diff([]string{"/css/plain.css"}, mask(paths(cfg, "css/plain.css"))); diff != "" {
		t.Errorf("keep (-want +got):\n%s", diff)
	}
	cfg = testConfig(dir)
	cfg.Fingerprint, cfg.Minify, cfg.Bundles = false, false, nil
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	set := mustRun(t, p)
	for _, n := range set.Names() {
		a, _ := set.Lookup(n)
		src := filepath.Join(dir, "static", filepath.FromSlash(n))
		if n == "img/logo.png" {
			src = filepath.Join(dir, "vendor", "img", "logo.png")
		}
		want, _ := os.ReadFile(src)
		if a.Path != "/"+n || readAsset(t, a) != string(want) {
			t.Errorf("%s: at %s, %q; want a copy at /%s", n, a.Path, readAsset(t, a), n)
		}
	}
}

// TestBadConfig: problems of the definition name the bundle's line.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    Bundle
		want string
	}{
		{Bundle{Name: "app.txt", Entry: "a.txt"}, "must end in .css, .js or .mjs"},
		{Bundle{Name: "app.css"}, "give either entry"},
		{Bundle{Name: "app.css", Entry: "a.js"}, "a.js is not a css file"},
		{Bundle{Name: "../app.css", Entry: "a.css"}, `".." segment`},
		{Bundle{Name: "/app.css", Entry: "a.css"}, "without a leading"},
		{Bundle{Name: "app.js", Entry: "a.js", Format: "amd"}, `format "amd"`},
	}
	for _, tt := range tests {
		tt.b.File, tt.b.Line = "bake.toml", 7
		_, err := New(Config{Bundles: []Bundle{tt.b}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "bake.toml:7: ") {
			t.Errorf("%+v: %v, want bake.toml:7: …%s", tt.b, err, tt.want)
		}
	}
	if _, err := New(Config{Targets: []string{"netscape4"}}); err == nil || !strings.Contains(err.Error(), `target "netscape4"`) {
		t.Errorf("bad target: %v", err)
	}
}

// TestRelURL: url() in a stylesheet points at a file relative to the
// stylesheet's own folder, which its fingerprinted copy shares.
func TestRelURL(t *testing.T) {
	for _, tt := range []struct{ from, to, want string }{
		{"/css/app.css", "/img/x.png", "../img/x.png"},
		{"/css/app.css", "/css/font.woff2", "font.woff2"},
		{"/app.css", "/img/x.png", "img/x.png"},
		{"/a/b/c.css", "/a/x.png", "../x.png"},
		{"/a/b/c.css", "/x.png", "../../x.png"},
	} {
		if got := relURL(tt.from, tt.to); got != tt.want {
			t.Errorf("relURL(%q, %q) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
}

// FuzzFingerprintName: a fingerprinted name stays in the folder of its
// file and maps inside the build folder whenever the name does.
func FuzzFingerprintName(f *testing.F) {
	for _, s := range []string{"css/app.css", "LICENSE", "a/.well-known/x", ".well-known/a.png", "x.", "a/b.c.d"} {
		f.Add(s, "3f2a1c9b0000")
	}
	f.Fuzz(func(t *testing.T, name, hash string) {
		if CheckName(name) != nil || !regexp.MustCompile(`^[0-9a-f]{8,64}$`).MatchString(hash) {
			return
		}
		fp := FingerprintName(name, hash)
		if _, err := bake.FileName("/" + fp); err != nil {
			t.Fatalf("%q → %q: %v", name, fp, err)
		}
		if filepath.Dir(fp) != filepath.Dir(name) || fp == name {
			t.Fatalf("%q → %q: another folder, or the same name", name, fp)
		}
	})
}

// FuzzResolveName: whatever a stylesheet or script imports, the name it
// resolves to is inside the static folders.
func FuzzResolveName(f *testing.F) {
	for _, s := range []string{"../img/x.png", "/x.css", "../../etc/passwd", "./a/../../b", "a\\..\\b", ".bake/x"} {
		f.Add("css/app.css", s)
	}
	f.Fuzz(func(t *testing.T, importer, spec string) {
		name, err := resolveName(importer, spec)
		if err != nil {
			return
		}
		if _, err := bake.FileName("/" + name); err != nil {
			t.Fatalf("%q from %q → %q: %v", spec, importer, name, err)
		}
		if strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") {
			t.Fatalf("%q from %q → %q leaves the static folders", spec, importer, name)
		}
	})
}

// bootstrapSite lays out Bootstrap's dist files as a site's static folder
// would hold them, with a bundle of each.
func bootstrapSite(t testing.TB) Config {
	pkg := testenv.NPMPackage(t, "bootstrap@5.3.3")
	dir := t.TempDir()
	for src, dst := range map[string]string{
		"dist/css/bootstrap.css":      "static/css/bootstrap.css",
		"dist/js/bootstrap.bundle.js": "static/js/bootstrap.bundle.js",
	} {
		b, err := os.ReadFile(filepath.Join(pkg, src))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, dst)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "static/css/site.css"), []byte("@import \"bootstrap.css\";\n.lead { font-size: 1.3rem; }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "static/js/site.js"), []byte("import \"./bootstrap.bundle.js\";\ndocument.documentElement.dataset.ready = \"1\";\n"), 0o644)
	return Config{
		Dirs:        []string{filepath.Join(dir, "static")},
		CacheDir:    filepath.Join(dir, ".bake", "assets"),
		Minify:      true,
		Fingerprint: true,
		Originals:   true,
		SourceMaps:  true,
		Targets:     []string{"chrome100", "firefox100", "safari15"},
		Bundles: []Bundle{
			{Name: "css/app.css", Entry: "css/site.css"},
			{Name: "js/app.js", Entry: "js/site.js"},
		},
	}
}

// TestBootstrap bundles and minifies Bootstrap's CSS and JavaScript, as
// published on npm: fingerprinted, smaller, and still valid (esbuild parses
// the result again without an error).
func TestBootstrap(t *testing.T) {
	t.Parallel()
	cfg := bootstrapSite(t)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	set := mustRun(t, p)
	for _, tt := range []struct {
		name, src, min, must string
		loader               api.Loader
	}{
		{"css/app.css", "css/bootstrap.css", "dist/css/bootstrap.min.css", ".lead{font-size:1.3rem}", api.LoaderCSS},
		{"js/app.js", "js/bootstrap.bundle.js", "dist/js/bootstrap.bundle.min.js", "data-bs-toggle", api.LoaderJS},
	} {
		a, ok := set.Lookup(tt.name)
		if !ok {
			t.Fatalf("no %s", tt.name)
		}
		if !regexp.MustCompile(`^/` + regexp.QuoteMeta(strings.TrimSuffix(tt.name, filepath.Ext(tt.name))) + `\.[0-9a-f]{8}\` + filepath.Ext(tt.name) + `$`).MatchString(a.Path) {
			t.Errorf("%s at %s, not fingerprinted", tt.name, a.Path)
		}
		src, _ := os.ReadFile(filepath.Join(cfg.Dirs[0], tt.src))
		out := readAsset(t, a)
		// Bootstrap's own minified file (made with cssnano and
		// terser) is the yardstick: within 2% of it.
		ref, err := os.ReadFile(filepath.Join(testenv.NPMPackage(t, "bootstrap@5.3.3"), tt.min))
		if err != nil {
			t.Fatal(err)
		}
		if a.Bytes >= int64(len(src)) || float64(a.Bytes) > 1.02*float64(len(ref)) {
			t.Errorf("%s: %d bytes from %d, Bootstrap's own %s has %d: not minified", tt.name, a.Bytes, len(src), tt.min, len(ref))
		}
		if a.Gzip == 0 || a.Brotli == 0 || a.Brotli >= a.Gzip || a.Gzip >= a.Bytes {
			t.Errorf("%s: sizes %d, gzip %d, brotli %d", tt.name, a.Bytes, a.Gzip, a.Brotli)
		}
		if !strings.Contains(out, tt.must) {
			t.Errorf("%s lacks %q", tt.name, tt.must)
		}
		res := api.Transform(out, api.TransformOptions{Loader: tt.loader})
		for _, m := range res.Errors {
			t.Errorf("%s does not parse again: %s (line %d)", tt.name, m.Text, m.Location.Line)
		}
		t.Logf("%s: %d → %d bytes (gzip %d, brotli %d); %s: %d", tt.name, len(src), a.Bytes, a.Gzip, a.Brotli, tt.min, len(ref))
	}
}

// BenchmarkBootstrap measures the pipeline on Bootstrap's CSS and
// JavaScript: cold (an empty cache) and warm (nothing changed).
func BenchmarkBootstrap(b *testing.B) {
	cfg := bootstrapSite(b)
	b.Run("cold", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			c := cfg
			c.CacheDir = filepath.Join(b.TempDir(), "cache")
			p, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		p, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// newsroomConfig is the asset configuration of examples/newsroom.
func newsroomConfig(tb testing.TB) Config {
	return Config{
		Dirs:        []string{filepath.Join("..", "examples", "newsroom", "static")},
		CacheDir:    filepath.Join(tb.TempDir(), "cache"),
		Minify:      true,
		Fingerprint: true,
		Originals:   true,
		SourceMaps:  true,
		Bundles:     []Bundle{{Name: "css/site.css", Entry: "css/site.css"}},
	}
}

// BenchmarkPipeline measures the pipeline on the newsroom example's static
// files and on Bootstrap's CSS and JavaScript: cold (an empty cache: every
// file bundled, minified and measured gzipped and brotli-compressed) and
// warm (nothing changed: files stat'ed, no work). With ESBUILD set to an
// esbuild binary (npm's esbuild package), "cli" runs it on the same
// bundles, minified with source maps, for comparison.
func BenchmarkPipeline(b *testing.B) {
	for _, site := range []struct {
		name string
		cfg  func(testing.TB) Config
	}{{"newsroom", newsroomConfig}, {"bootstrap", bootstrapSite}} {
		cfg := site.cfg(b)
		b.Run(site.name+"/cold", func(b *testing.B) {
			for b.Loop() {
				c := cfg
				c.CacheDir = filepath.Join(b.TempDir(), "cache")
				p, err := New(c)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(site.name+"/warm", func(b *testing.B) {
			p, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := p.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		esbuild := os.Getenv("ESBUILD")
		if esbuild == "" {
			continue
		}
		b.Run(site.name+"/cli", func(b *testing.B) {
			out := b.TempDir()
			for b.Loop() {
				for _, bd := range cfg.Bundles {
					args := []string{filepath.Join(cfg.Dirs[0], bd.Entry), "--bundle", "--minify", "--sourcemap", "--log-level=error",
						"--outfile=" + filepath.Join(out, bd.Name)}
					for _, t := range cfg.Targets {
						args = append(args, "--target="+t)
					}
					if cmd := exec.Command(esbuild, args...); cmd.Run() != nil {
						out, _ := exec.Command(esbuild, args...).CombinedOutput()
						b.Fatalf("%s %v: %s", esbuild, args, out)
					}
				}
			}
		})
	}
}
