package sqlsite_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
)

// assetSite extracts testdata/assets.txtar and opens its database.
func assetSite(t *testing.T) (dir string, site func() *sqlsite.Site) {
	t.Helper()
	dir, _ = extract(t, "testdata/assets.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	return dir, func() *sqlsite.Site {
		s := newSite(t, dir, db)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func fullBuild(t *testing.T, s *sqlsite.Site, out string) *build.Report {
	t.Helper()
	rep, err := build.Build(context.Background(), s, build.Options{Output: out, Workers: 2})
	if err != nil {
		for _, p := range rep.Problems {
			t.Error(p)
		}
		t.Fatal(err)
	}
	return rep
}

func readOut(t *testing.T, out, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var hrefRe = regexp.MustCompile(`href="([^"]+)"(?: integrity="([^"]+)")?`)

// TestAssetsBuild: a page links the fingerprinted bundle, with its SRI
// hash, and inlines a stylesheet; the bundle's url() points at the
// fingerprinted image of the later static folder.
func TestAssetsBuild(t *testing.T) {
	t.Parallel()
	dir, site := assetSite(t)
	out := filepath.Join(dir, "_site")
	fullBuild(t, site(), out)

	page := readOut(t, out, "posts/one/index.html")
	m := hrefRe.FindStringSubmatch(page)
	if m == nil || !regexp.MustCompile(`^/css/app\.[0-9a-f]{8}\.css$`).MatchString(m[1]) {
		t.Fatalf("page links %q, want /css/app.HASH.css:\n%s", m, page)
	}
	css := readOut(t, out, m[1])
	sum := sha512.Sum384([]byte(css))
	if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); html.UnescapeString(m[2]) != want {
		t.Errorf("integrity %q, want %q", m[2], want)
	}
	if !strings.HasPrefix(css, "body{margin:0;color:#333}.logo{background:url(../img/logo.") {
		t.Errorf("bundle not minified with its import inlined:\n%s", css)
	}
	logo := regexp.MustCompile(`url\(\.\./img/(logo\.[0-9a-f]{8}\.png)\)`).FindStringSubmatch(css)
	if logo == nil {
		t.Fatalf("bundle's url() is not the fingerprinted logo:\n%s", css)
	}
	if got := readOut(t, out, "img/"+logo[1]); got != "vendor logo\n" {
		t.Errorf("img/%s holds %q, want vendor/'s logo", logo[1], got)
	}
	if got := readOut(t, out, "img/logo.png"); got != "vendor logo\n" {
		t.Errorf("img/logo.png (its own name kept) holds %q", got)
	}
	if !strings.Contains(page, "<style>html{background:#fff}</style>") {
		t.Errorf("critical.css not inlined, minified:\n%s", page)
	}
	if got := readOut(t, out, "robots.txt"); got != "User-agent: *\n" {
		t.Errorf("robots.txt: %q", got)
	}
	if !strings.Contains(css, "sourceMappingURL=app.") {
		t.Errorf("bundle has no source map comment:\n%s", css)
	}
	mapName := regexp.MustCompile(`sourceMappingURL=(\S+)`).FindStringSubmatch(css)[1]
	if m := readOut(t, out, "css/"+mapName); !strings.Contains(m, `"sources"`) {
		t.Errorf("css/%s is not a source map: %s", mapName, m)
	}
}

// TestAssetsIncremental: an edit that leaves a stylesheet's minified bytes
// as they were renders nothing; an edit of an imported file renders again
// exactly the pages that link the bundle, the old fingerprinted file is
// removed, and the build equals a full one. A build with nothing changed
// processes no asset, in this process or a new one.
func TestAssetsIncremental(t *testing.T) {
	t.Parallel()
	dir, site := assetSite(t)
	out := filepath.Join(dir, "_site")
	s := site()
	fullBuild(t, s, out)
	work := s.AssetPipeline().Processed()
	if work == 0 {
		t.Fatal("the first build processed nothing")
	}
	update := func(what string) *build.UpdateReport {
		t.Helper()
		rep, err := build.Update(context.Background(), s, nil, build.Options{Output: out, Workers: 2, Explain: true})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return rep
	}
	rendered := func(rep *build.UpdateReport, html bool) []string {
		var paths []string
		for _, e := range rep.Explain {
			if e.Action != "removed" && strings.HasSuffix(e.Path, "/") == html {
				paths = append(paths, e.Path)
			}
		}
		slices.Sort(paths)
		return paths
	}

	if rep := update("nothing changed"); rep.Rendered != 0 || rep.Written != 0 {
		t.Errorf("nothing changed: rendered %d, written %d", rep.Rendered, rep.Written)
	}
	if got := s.AssetPipeline().Processed(); got != work {
		t.Errorf("a build with nothing changed processed %d assets", got-work)
	}
	// A new Site, as a new bake process would make, finds the work in
	// the site's .bake/assets.
	s2 := site()
	fullBuild(t, s2, filepath.Join(dir, "_again"))
	if n := s2.AssetPipeline().Processed(); n != 0 {
		t.Errorf("a new process processed %d assets again", n)
	}

	// A comment: the minified bytes, and so every URL, stay. (Not in a
	// bundle: its source map holds its sources, comments and all.)
	writeFile(t, filepath.Join(dir, "static/css/other.css"), "/* edited */\nh1 { font-weight: bold; }\n")
	if rep := update("comment"); len(rendered(rep, true)) != 0 || rep.Written != 0 {
		t.Errorf("a comment edited: pages %v rendered, %d files written", rendered(rep, true), rep.Written)
	}

	oldCSS := hrefRe.FindStringSubmatch(readOut(t, out, "posts/one/index.html"))[1]
	writeFile(t, filepath.Join(dir, "static/css/base.css"), "body { margin: 0; color: #444444; }\n")
	rep := update("color")
	if diff := cmp.Diff([]string{"/posts/one/", "/posts/three/", "/posts/two/"}, rendered(rep, true)); diff != "" {
		t.Errorf("pages rendered (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(oldCSS))); !os.IsNotExist(err) {
		t.Errorf("the old bundle %s is still in the build (%v)", oldCSS, err)
	}
	newCSS := hrefRe.FindStringSubmatch(readOut(t, out, "posts/one/index.html"))[1]
	if newCSS == oldCSS || !strings.Contains(readOut(t, out, newCSS), "color:#444") {
		t.Errorf("pages link %s after the edit (was %s)", newCSS, oldCSS)
	}

	// The same as a full build.
	full := filepath.Join(dir, "_full")
	fullBuild(t, site(), full)
	if diff := cmp.Diff(files(t, full), files(t, out)); diff != "" {
		t.Errorf("incremental build differs from a full build (-full +incremental):\n%s", diff)
	}
	if diff := cmp.Diff(manifest(t, full), manifest(t, out)); diff != "" {
		t.Errorf("incremental manifest differs (-full +incremental):\n%s", diff)
	}

	// A file removed: its files go.
	if err := os.Remove(filepath.Join(dir, "static/robots.txt")); err != nil {
		t.Fatal(err)
	}
	update("robots.txt removed")
	if _, err := os.Stat(filepath.Join(out, "robots.txt")); !os.IsNotExist(err) {
		t.Errorf("robots.txt still in the build after its removal (%v)", err)
	}
}

// TestStaticURL: BAKE_STATIC_URL overrides static_url, and a change of it
// is a change of every page that links a static file.
func TestStaticURL(t *testing.T) {
	dir, site := assetSite(t)
	toml := filepath.Join(dir, "bake.toml")
	b, _ := os.ReadFile(toml)
	writeFile(t, toml, strings.Replace(string(b), "[site]\n", "[site]\nstatic_url = \"https://cdn.example.org\"\n", 1))
	out := filepath.Join(dir, "_site")
	fullBuild(t, site(), out)
	if page := readOut(t, out, "about/index.html"); !regexp.MustCompile(`href="https://cdn\.example\.org/css/other\.[0-9a-f]{8}\.css"`).MatchString(page) {
		t.Errorf("static_url not used:\n%s", page)
	}
	t.Setenv(sqlsite.StaticURLEnv, "https://staging.example.org/assets/")
	s := site()
	_, err := build.Update(context.Background(), s, nil, build.Options{Output: out})
	if err == nil {
		t.Errorf("a new static URL did not ask for a full build")
	}
	fullBuild(t, s, out)
	if page := readOut(t, out, "about/index.html"); !strings.Contains(page, `src="https://staging.example.org/assets/img/logo.`) {
		t.Errorf("%s not used:\n%s", sqlsite.StaticURLEnv, page)
	}
}

// TestAssetProblems: a missing static file names the template and line;
// a stylesheet that cannot be inlined safely, or a bad url(), names its
// file and line; the rest of the site still builds.
func TestAssetProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, text string
		want             []string
	}{
		{"unknown name", "templates/about.html", "<p>\n{{static \"css/nope.css\"}}\n",
			[]string{"about.html:2", `static "css/nope.css": no such file in [static, vendor], nor a bundle of [assets]`}},
		{"unsafe inline", "static/css/critical.css", `a::after { content: "</style>"; }`,
			[]string{"post.html:3", `inline "css/critical.css": the file holds "</style"`}},
		{"missing url", "static/css/main.css", "@import \"base.css\";\n.x { background: url(../img/nope.png); }\n",
			[]string{filepath.Join("static", "css", "main.css") + ":2", "../img/nope.png: no such file in the static folders"}},
		{"syntax error", "static/js/menu.js", "function open() {\n  let x = ;\n}\n",
			[]string{filepath.Join("static", "js", "menu.js") + ":2", "Unexpected \";\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, site := assetSite(t)
			writeFile(t, filepath.Join(dir, tt.file), tt.text)
			if tt.name == "unsafe inline" {
				// esbuild escapes </style> in what it minifies: copy the
				// file as it is.
				b, _ := os.ReadFile(filepath.Join(dir, "bake.toml"))
				writeFile(t, filepath.Join(dir, "bake.toml"), string(b)+"\n[assets]\nminify = false\nfingerprint = false\n")
			}
			rep, err := build.Build(context.Background(), site(), build.Options{Output: filepath.Join(dir, "_site"), Workers: 2})
			if err == nil {
				t.Fatal("build succeeded")
			}
			var all []string
			for _, p := range rep.Problems {
				all = append(all, p.Error())
			}
			text := strings.Join(all, "\n")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems do not say %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestImages: {{image}} and {{srcset}} give the URLs of the resized copies
// of [assets.images], which are in the build; a width not configured is a
// problem naming the template's line.
func TestImages(t *testing.T) {
	t.Parallel()
	dir, site := assetSite(t)
	b, _ := os.ReadFile(filepath.Join(dir, "bake.toml"))
	writeFile(t, filepath.Join(dir, "bake.toml"), string(b)+"\n[assets.images]\nwidths = [100, 200]\nwebp = true\n")
	img := image.NewNRGBA(image.Rect(0, 0, 300, 150))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 251)
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	writeFile(t, filepath.Join(dir, "static/img/pic.png"), buf.String())
	writeFile(t, filepath.Join(dir, "templates/about.html"), `<picture>
<source type="image/webp" srcset="{{srcset "img/pic.png" "webp"}}">
<img src="{{image "img/pic.png" 200}}" srcset="{{srcset "img/pic.png"}}" alt="">
</picture>
`)
	out := filepath.Join(dir, "_site")
	fullBuild(t, site(), out)
	page := readOut(t, out, "about/index.html")
	want := regexp.MustCompile(`srcset="(/img/pic\.100w\.[0-9a-f]{8}\.webp 100w, /img/pic\.200w\.[0-9a-f]{8}\.webp 200w)">\n` +
		`<img src="(/img/pic\.200w\.[0-9a-f]{8}\.png)" srcset="/img/pic\.100w\.[0-9a-f]{8}\.png 100w, /img/pic\.200w\.[0-9a-f]{8}\.png 200w, /img/pic\.[0-9a-f]{8}\.png 300w"`)
	m := want.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page:\n%s", page)
	}
	got, _, err := image.DecodeConfig(strings.NewReader(readOut(t, out, m[2])))
	if err != nil || got.Width != 200 || got.Height != 100 {
		t.Errorf("%s: %dx%d, %v", m[2], got.Width, got.Height, err)
	}

	// A new process finds the crushed image and its copies in the cache.
	s2 := site()
	fullBuild(t, s2, filepath.Join(dir, "_again"))
	if n := s2.AssetPipeline().Processed(); n != 0 {
		t.Errorf("a new process made %d images again", n)
	}

	for _, tt := range []struct{ what, text, want string }{
		{"width not configured", "<p>\n{{image \"img/pic.png\" 150}}\n",
			`image "img/pic.png" 150: no such width in [assets.images] widths [100 200]`},
		{"unknown file", "<p>\n\n{{image \"img/nope.png\" 100}}\n",
			`image "img/nope.png": no such file in [static, vendor], nor a bundle of [assets]`},
		{"srcset of an unknown file", "<p>{{srcset \"img/nope.png\"}}\n",
			`srcset "img/nope.png": no such file`},
	} {
		writeFile(t, filepath.Join(dir, "templates/about.html"), tt.text)
		line := strings.Count(tt.text[:strings.Index(tt.text, "{{")], "\n") + 1
		rep, err := build.Build(context.Background(), site(), build.Options{Output: out})
		if err == nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), fmt.Sprintf("about.html:%d: ", line)) ||
			!strings.Contains(rep.Problems[0].Error(), tt.want) {
			t.Errorf("%s: %v %v, want about.html:%d: %s", tt.what, err, rep.Problems, line, tt.want)
		}
	}
}

// pngOf encodes the picture of pic(seed) with a zlib level: the same seed
// at two levels is the same image in other bytes.
func pngOf(seed int, level png.CompressionLevel) string {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 150))
	for i := range img.Pix {
		img.Pix[i] = uint8((i*seed)%251) | 0x0f
	}
	var buf bytes.Buffer
	(&png.Encoder{CompressionLevel: level}).Encode(&buf, img)
	return buf.String()
}

// TestImagesIncremental: editing an image renders again exactly the pages
// that use it ({{image}}, {{srcset}}), removes its old copies, and gives
// what a full build gives; the same pixels saved again in other bytes
// crush to the same file, so nothing is rendered.
func TestImagesIncremental(t *testing.T) {
	t.Parallel()
	dir, site := assetSite(t)
	b, _ := os.ReadFile(filepath.Join(dir, "bake.toml"))
	writeFile(t, filepath.Join(dir, "bake.toml"), string(b)+"\n[assets.images]\nwidths = [100, 200]\nwebp = true\n")
	writeFile(t, filepath.Join(dir, "static/img/pic.png"), pngOf(7, png.NoCompression))
	writeFile(t, filepath.Join(dir, "static/img/hero.png"), pngOf(11, png.NoCompression))
	writeFile(t, filepath.Join(dir, "templates/about.html"), `<img src="{{image "img/pic.png" 200}}" srcset="{{srcset "img/pic.png"}}" alt="">`+"\n")
	post, _ := os.ReadFile(filepath.Join(dir, "templates/post.html"))
	writeFile(t, filepath.Join(dir, "templates/post.html"), string(post)+`<img src="{{image "img/hero.png" 100 "webp"}}" alt="">`+"\n")
	out := filepath.Join(dir, "_site")
	s := site()
	fullBuild(t, s, out)

	update := func(what string) (pages, written []string) {
		t.Helper()
		rep, err := build.Update(context.Background(), s, nil, build.Options{Output: out, Workers: 2, Explain: true})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, e := range rep.Explain {
			switch {
			case e.Action == "removed":
			case strings.HasSuffix(e.Path, "/"):
				pages = append(pages, e.Path)
			default:
				written = append(written, e.Path)
			}
		}
		slices.Sort(pages)
		return pages, written
	}
	picFiles := func() []string {
		a, _ := s.Assets().Lookup("img/pic.png")
		var paths []string
		for _, v := range a.Variants {
			paths = append(paths, v.Path)
		}
		return append(paths, a.Path)
	}

	writeFile(t, filepath.Join(dir, "static/img/pic.png"), pngOf(7, png.DefaultCompression))
	if pages, written := update("pic.png saved again"); len(pages) != 0 || len(written) != 0 {
		t.Errorf("the same pixels in other bytes: pages %v rendered, files %v written", pages, written)
	}

	old := picFiles()
	writeFile(t, filepath.Join(dir, "static/img/pic.png"), pngOf(13, png.NoCompression))
	pages, _ := update("pic.png edited")
	if diff := cmp.Diff([]string{"/about/"}, pages); diff != "" {
		t.Errorf("pages rendered after pic.png changed (-want +got):\n%s", diff)
	}
	for _, p := range old {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(p))); !os.IsNotExist(err) {
			t.Errorf("the old %s is still in the build (%v)", p, err)
		}
	}

	writeFile(t, filepath.Join(dir, "static/img/hero.png"), pngOf(17, png.NoCompression))
	pages, _ = update("hero.png edited")
	if diff := cmp.Diff([]string{"/posts/one/", "/posts/three/", "/posts/two/"}, pages); diff != "" {
		t.Errorf("pages rendered after hero.png changed (-want +got):\n%s", diff)
	}

	full := filepath.Join(dir, "_full")
	fullBuild(t, site(), full)
	if diff := cmp.Diff(files(t, full), files(t, out)); diff != "" {
		t.Errorf("incremental build differs from a full build (-full +incremental):\n%s", diff)
	}
	if diff := cmp.Diff(manifest(t, full), manifest(t, out)); diff != "" {
		t.Errorf("incremental manifest differs (-full +incremental):\n%s", diff)
	}
}

// TestImagesWebPNeedsCwebp: webp = true on a machine without cwebp is a
// problem at the line of webp in bake.toml, saying what to install.
func TestImagesWebPNeedsCwebp(t *testing.T) {
	dir, _ := extract(t, "testdata/assets.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	b, _ := os.ReadFile(filepath.Join(dir, "bake.toml"))
	text := string(b) + "\n[assets.images]\nwidths = [100]\nwebp = true\n"
	writeFile(t, filepath.Join(dir, "bake.toml"), text)
	t.Setenv("PATH", t.TempDir())
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	line := strings.Count(text[:strings.Index(text, "webp = true")], "\n") + 1
	if want := fmt.Sprintf("bake.toml:%d: webp = true needs cwebp on PATH", line); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}
