package serve

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
)

var (
	bigCSS  = strings.Repeat("body { color: #333; margin: 0 auto; }\n", 100)
	bigJS   = strings.Repeat("console.log('hello, world');\n", 100)
	bigHTML = "<!doctype html><html><body>" + strings.Repeat("<p>text</p>\n", 200) + "</body></html>"
	png     = "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 2000)
)

// testSite writes a build folder and returns it and its files. A file
// secret.txt beside the folder must never be served.
func testSite(t testing.TB) (string, map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "site")
	files := map[string]string{
		"index.html":               "<html><body>home</body></html>",
		"items/index.html":         "<html><body>items</body></html>",
		"empty/readme":             "no index here",
		"page.html":                "plain text in an .html file",
		"style.css":                bigCSS,
		"small.css":                "p{}",
		"logo":                     png,
		"feed":                     "<feed></feed>",
		"404.html":                 "<html><body>not here</body></html>",
		".hidden":                  "hidden",
		"items/.secret":            "hidden",
		"page.html.attrs":          "{}",
		".well-known/security.txt": "Contact: mailto:a@example.com",
		"app.js":                   bigJS,
		"app.js.gz":                gzipped(t, "sibling gz"),
		"app.js.br":                brotlied(t, "sibling br"),
		"old.js":                   bigJS,
		"old.js.gz":                gzipped(t, "stale sibling"),
		"caf\u00e9/index.html":     "<html><body>caf\u00e9</body></html>",
	}
	writeFiles(t, dir, files)
	writeFiles(t, tmp, map[string]string{"secret.txt": "TOP SECRET"})
	old := t0.Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "old.js.gz"), old, old); err != nil {
		t.Fatal(err)
	}
	symlink(t, "../secret.txt", filepath.Join(dir, "link.txt"))
	symlink(t, "..", filepath.Join(dir, "up"))
	symlink(t, "style.css", filepath.Join(dir, "alias.css"))
	writeIndex(t, dir, t0.Add(time.Hour),
		entry("/", files["index.html"], "text/html; charset=utf-8"),
		entry("/items/", files["items/index.html"], "text/html; charset=utf-8"),
		entry("/page.html", files["page.html"], "text/plain; charset=utf-8"),
		entry("/feed", files["feed"], "application/atom+xml"),
		entry("/app.js", files["app.js"], "text/javascript; charset=utf-8"),
		entry("/.well-known/security.txt", files[".well-known/security.txt"], "text/plain; charset=utf-8"),
	)
	return dir, files
}

func TestNewFileServerMissingFolder(t *testing.T) {
	_, err := NewFileServer(filepath.Join(t.TempDir(), "_site"), FileServerOptions{})
	if err == nil || !strings.Contains(err.Error(), "run `bake build` first") {
		t.Fatalf("NewFileServer(missing) = %v, want an error that says to run bake build", err)
	}
}

func TestFileServer(t *testing.T) {
	dir, files := testSite(t)
	s := newFileServer(t, dir)
	const html = "text/html; charset=utf-8"
	notFound := result{Status: 404, Type: html, Body: files["404.html"]}

	tests := []struct {
		name   string
		method string
		target string
		header map[string]string
		want   result
	}{
		{name: "root index", target: "/", want: result{Status: 200, Type: html, Body: files["index.html"]}},
		{name: "folder index", target: "/items/", want: result{Status: 200, Type: html, Body: files["items/index.html"]}},
		{name: "index.html by name", target: "/items/index.html", want: result{Status: 200, Type: html, Body: files["items/index.html"]}},
		{name: "utf-8 folder", target: "/caf%C3%A9/", want: result{Status: 200, Type: html, Body: files["caf\u00e9/index.html"]}},
		{name: "manifest type wins over extension", target: "/page.html", want: result{Status: 200, Type: "text/plain; charset=utf-8", Body: files["page.html"]}},
		{name: "manifest type without extension", target: "/feed", want: result{Status: 200, Type: "application/atom+xml", Body: files["feed"]}},
		{name: "extension type", target: "/small.css", want: result{Status: 200, Type: "text/css; charset=utf-8", Body: files["small.css"]}},
		{name: "sniffed type", target: "/logo", want: result{Status: 200, Type: "image/png", Body: png}},
		{name: "symlink inside folder", target: "/alias.css", want: result{Status: 200, Type: "text/css; charset=utf-8", Body: bigCSS}},
		{name: "well-known", target: "/.well-known/security.txt", want: result{Status: 200, Type: "text/plain; charset=utf-8", Body: files[".well-known/security.txt"]}},
		{name: "redirect to slash", target: "/items", want: result{Status: 301, Location: "/items/"}},
		{name: "redirect keeps query", target: "/items?page=2&x=%20", want: result{Status: 301, Location: "/items/?page=2&x=%20"}},
		{name: "redirect escapes", target: "/caf%C3%A9", want: result{Status: 301, Location: "/caf%C3%A9/"}},
		{name: "folder without index", target: "/empty", want: notFound},
		{name: "folder without index, slash", target: "/empty/", want: notFound},
		{name: "missing", target: "/nope.html", want: notFound},
		{name: "missing under a file", target: "/page.html/x", want: notFound},
		{name: "missing HEAD", method: "HEAD", target: "/nope", want: result{Status: 404, Type: html, Length: strconv.Itoa(len(files["404.html"]))}},
		{name: "index", target: "/.bake/index.db", want: notFound},
		{name: "index log", target: "/.bake/index.db-wal", want: notFound},
		{name: "reserved folder", target: "/.bake/", want: notFound},
		{name: "dotfile", target: "/.hidden", want: notFound},
		{name: "nested dotfile", target: "/items/.secret", want: notFound},
		{name: "attrs file", target: "/page.html.attrs", want: notFound},
		{name: "encoded traversal", target: "/..%2fsecret.txt", want: notFound},
		{name: "nested encoded traversal", target: "/items/..%2f..%2fsecret.txt", want: notFound},
		{name: "backslash traversal", target: "/..%5csecret.txt", want: notFound},
		{name: "double slash", target: "//secret.txt", want: notFound},
		{name: "symlink out of folder", target: "/link.txt", want: notFound},
		{name: "symlinked folder out of folder", target: "/up/secret.txt", want: notFound},
		{name: "HEAD", method: "HEAD", target: "/small.css", want: result{Status: 200, Type: "text/css; charset=utf-8", Length: "3"}},
		{name: "POST", method: "POST", target: "/", want: result{Status: 405, Type: "text/plain; charset=utf-8", Allow: "GET, HEAD", Body: "method not allowed\n"}},
		{name: "DELETE", method: "DELETE", target: "/nope", want: result{Status: 405, Type: "text/plain; charset=utf-8", Allow: "GET, HEAD", Body: "method not allowed\n"}},
		{name: "range", target: "/style.css", header: map[string]string{"Range": "bytes=0-3", "Accept-Encoding": "gzip"},
			want: result{Status: 206, Type: "text/css; charset=utf-8", Length: "4", Body: bigCSS[:4]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resp, body := do(t, s, method, tt.target, tt.header)
			got := result{
				Status:   resp.StatusCode,
				Type:     resp.Header.Get("Content-Type"),
				Location: resp.Header.Get("Location"),
				Allow:    resp.Header.Get("Allow"),
				Body:     body,
			}
			if tt.want.Length != "" {
				got.Length = resp.Header.Get("Content-Length")
			}
			if got.Status == 301 {
				got.Type, got.Body = "", "" // http.Redirect's own
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", method, tt.target, diff)
			}
		})
	}
}

type result struct {
	Status   int
	Type     string
	Location string
	Allow    string
	Length   string
	Body     string
}

func TestFileServerNoNotFoundPage(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.html": "home"})
	resp, body := do(t, newFileServer(t, dir), "GET", "/nope", nil)
	got := result{Status: resp.StatusCode, Type: resp.Header.Get("Content-Type"), Body: body}
	want := result{Status: 404, Type: "text/plain; charset=utf-8", Body: "404 page not found\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFileServerFolderGone(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.html": "home"})
	s := newFileServer(t, dir)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	resp, _ := do(t, s, "GET", "/", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
}

func TestFileServerConditional(t *testing.T) {
	dir, files := testSite(t)
	s := newFileServer(t, dir)
	lastMod := t0.Format(http.TimeFormat)
	weak := `W/"` + strconv.FormatInt(int64(len(bigCSS)), 16) + "-" + strconv.FormatInt(t0.UnixNano(), 16) + `"`

	tests := []struct {
		name     string
		target   string
		header   map[string]string
		wantCode int
		wantTag  string
	}{
		{name: "manifest ETag", target: "/", wantCode: 200, wantTag: sha(files["index.html"])},
		{name: "weak ETag", target: "/style.css", wantCode: 200, wantTag: weak},
		{name: "If-None-Match", target: "/", header: map[string]string{"If-None-Match": sha(files["index.html"])}, wantCode: 304, wantTag: sha(files["index.html"])},
		{name: "If-None-Match weak", target: "/style.css", header: map[string]string{"If-None-Match": weak}, wantCode: 304, wantTag: weak},
		{name: "If-None-Match other", target: "/", header: map[string]string{"If-None-Match": `"other"`}, wantCode: 200, wantTag: sha(files["index.html"])},
		{name: "If-Modified-Since", target: "/small.css", header: map[string]string{"If-Modified-Since": lastMod}, wantCode: 304,
			wantTag: `W/"3-` + strconv.FormatInt(t0.UnixNano(), 16) + `"`},
		{name: "If-Modified-Since older", target: "/", header: map[string]string{"If-Modified-Since": t0.Add(-time.Hour).Format(http.TimeFormat)}, wantCode: 200, wantTag: sha(files["index.html"])},
		{name: "If-None-Match wins over If-Modified-Since", target: "/", header: map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lastMod}, wantCode: 200, wantTag: sha(files["index.html"])},
		{name: "compressed variant", target: "/style.css", header: map[string]string{"Accept-Encoding": "gzip", "If-None-Match": weak[:len(weak)-1] + `-gz"`}, wantCode: 304, wantTag: weak[:len(weak)-1] + `-gz"`},
		{name: "identity tag does not match compressed", target: "/style.css", header: map[string]string{"Accept-Encoding": "gzip", "If-None-Match": weak}, wantCode: 200, wantTag: weak[:len(weak)-1] + `-gz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, s, "GET", tt.target, tt.header)
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if got := resp.Header.Get("ETag"); got != tt.wantTag {
				t.Errorf("ETag = %s, want %s", got, tt.wantTag)
			}
			if tt.wantCode == 304 && body != "" {
				t.Errorf("304 with body %q", body)
			}
			if tt.wantCode == 200 && resp.Header.Get("Last-Modified") != lastMod {
				t.Errorf("Last-Modified = %q, want %q", resp.Header.Get("Last-Modified"), lastMod)
			}
		})
	}
}

func TestFileServerStaleManifest(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.html": "new bytes", "b.html": "same size"})
	writeIndex(t, dir, t0.Add(time.Hour),
		entry("/a.html", "old", "text/html; charset=utf-8"),
		entry("/b.html", "same size", "text/html; charset=utf-8"))
	// b.html rewritten after the manifest.
	later := t0.Add(2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "b.html"), later, later); err != nil {
		t.Fatal(err)
	}
	s := newFileServer(t, dir)
	for _, p := range []string{"/a.html", "/b.html"} {
		resp, _ := do(t, s, "GET", p, nil)
		if tag := resp.Header.Get("ETag"); !strings.HasPrefix(tag, `W/"`) {
			t.Errorf("%s: ETag = %s, want a weak tag for a file the manifest does not match", p, tag)
		}
	}
}

func TestFileServerIndexReload(t *testing.T) {
	const feed = `<?xml version="1.0"?><feed/>`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"feed": feed})
	s := newFileServer(t, dir)
	typeOf := func() string {
		resp, _ := do(t, s, "GET", "/feed", nil)
		return resp.Header.Get("Content-Type")
	}
	steps := []struct {
		name   string
		change func(t *testing.T)
		want   string
	}{
		{name: "no index: sniffed", change: func(t *testing.T) {}, want: "text/xml; charset=utf-8"},
		{name: "first build", change: func(t *testing.T) {
			writeIndex(t, dir, t0.Add(time.Hour), entry("/feed", feed, "application/atom+xml"))
		}, want: "application/atom+xml"},
		{name: "full build: new index file", change: func(t *testing.T) {
			writeIndex(t, dir, t0.Add(2*time.Hour), entry("/feed", feed, "application/rss+xml"))
		}, want: "application/rss+xml"},
		{name: "incremental build: commit in place", change: func(t *testing.T) {
			updateIndex(t, dir, entry("/feed", feed, "application/feed+json"))
		}, want: "application/feed+json"},
		{name: "second incremental build", change: func(t *testing.T) {
			updateIndex(t, dir, entry("/feed", feed, "application/atom+xml"))
		}, want: "application/atom+xml"},
		{name: "not an index", change: func(t *testing.T) {
			p := filepath.Join(dir, filepath.FromSlash(output.IndexFile))
			for _, suffix := range []string{"-wal", "-shm"} {
				os.Remove(p + suffix)
			}
			if err := os.WriteFile(p, []byte("not an index\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: "text/xml; charset=utf-8"},
		{name: "index removed", change: func(t *testing.T) {
			writeIndex(t, dir, t0.Add(3*time.Hour), entry("/feed", feed, "application/rss+xml"))
			typeOf() // loaded
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(output.IndexFile))); err != nil {
				t.Fatal(err)
			}
		}, want: "text/xml; charset=utf-8"},
	}
	for _, step := range steps {
		step.change(t)
		if got := typeOf(); got != step.want {
			t.Errorf("%s: Content-Type = %q, want %q", step.name, got, step.want)
		}
	}
}

// TestFileServerIndexReloadWhileOpen commits while another connection
// holds the index open, as a builder that keeps it between builds does:
// the commits stay in the write-ahead log, index.db does not change.
func TestFileServerIndexReloadWhileOpen(t *testing.T) {
	const feed = `<?xml version="1.0"?><feed/>`
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"feed": feed})
	writeIndex(t, dir, t0.Add(time.Hour), entry("/feed", feed, "application/atom+xml"))
	builder, err := output.OpenIndex(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer builder.Close()
	if _, err := builder.Count(ctx); err != nil { // a connection, open from now on
		t.Fatal(err)
	}
	s := newFileServer(t, dir)
	var got []string
	for _, typ := range []string{"application/rss+xml", "application/feed+json", "application/atom+xml"} {
		if err := builder.Apply(ctx, output.Update{Put: []output.Record{{Entry: entry("/feed", feed, typ), Line: manifestLine(t, entry("/feed", feed, typ))}}}); err != nil {
			t.Fatal(err)
		}
		resp, _ := do(t, s, "GET", "/feed", nil)
		got = append(got, resp.Header.Get("Content-Type"))
	}
	want := []string{"application/rss+xml", "application/feed+json", "application/atom+xml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("types as the builder commits (-want +got):\n%s", diff)
	}
}

// TestFileServerIndexRacy changes the index without changing the size or
// modification time of its files, as two commits within one tick of a
// coarse file system clock can: the cache loaded so soon after a change is
// loaded again once the window has passed.
func TestFileServerIndexRacy(t *testing.T) {
	const feed = `<?xml version="1.0"?><feed/>`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"feed": feed})
	mtime := time.Now().Add(-time.Second).Truncate(time.Second)
	writeIndex(t, dir, mtime, entry("/feed", feed, "application/rss+xml"))
	s := newFileServer(t, dir)
	clock := mtime.Add(time.Second)
	s.manifest.now = func() time.Time { return clock }
	typeOf := func() string {
		resp, _ := do(t, s, "GET", "/feed", nil)
		return resp.Header.Get("Content-Type")
	}
	if got := typeOf(); got != "application/rss+xml" {
		t.Fatalf("Content-Type = %q, want application/rss+xml", got)
	}

	// The same file rewritten in place with an index of the same size, and
	// its time put back.
	other := t.TempDir()
	writeIndex(t, other, mtime, entry("/feed", feed, "application/rdf+xml"))
	p := filepath.Join(dir, filepath.FromSlash(output.IndexFile))
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(other, filepath.FromSlash(output.IndexFile)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFile(before, after) {
		t.Fatalf("the rewritten index does not look unchanged (size %d → %d): nothing is tested", before.Size(), after.Size())
	}

	clock = mtime.Add(racyWindow + time.Second)
	if got := typeOf(); got != "application/rdf+xml" {
		t.Errorf("after the racy window: Content-Type = %q, want application/rdf+xml", got)
	}
}

// TestFileServerFolderSwap swaps a whole new build folder in, as a full
// build does: the server reads the new folder's index.
func TestFileServerFolderSwap(t *testing.T) {
	const feed = `<?xml version="1.0"?><feed/>`
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "_site")
	writeFiles(t, dir, map[string]string{"feed": feed})
	writeIndex(t, dir, t0.Add(time.Hour), entry("/feed", feed, "application/atom+xml"))
	s := newFileServer(t, dir)
	typeOf := func() string {
		resp, _ := do(t, s, "GET", "/feed", nil)
		return resp.Header.Get("Content-Type")
	}
	got := []string{typeOf()}

	next := filepath.Join(tmp, "._site.new")
	writeFiles(t, next, map[string]string{"feed": feed})
	writeIndex(t, next, t0.Add(time.Hour), entry("/feed", feed, "application/rss+xml"))
	if err := os.Rename(dir, filepath.Join(tmp, "._site.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	got = append(got, typeOf())
	want := []string{"application/atom+xml", "application/rss+xml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("types across a folder swap (-want +got):\n%s", diff)
	}
}

func TestFileServerCompression(t *testing.T) {
	dir, files := testSite(t)
	s := newFileServer(t, dir)
	weakCSS := `W/"` + strconv.FormatInt(int64(len(bigCSS)), 16) + "-" + strconv.FormatInt(t0.UnixNano(), 16)

	type got struct {
		Status   int
		Encoding string
		ETag     string
		Vary     string
		Body     string // decoded
	}
	tests := []struct {
		name   string
		target string
		ae     string
		want   got
	}{
		{name: "gzip on the fly", target: "/style.css", ae: "gzip, deflate",
			want: got{Status: 200, Encoding: "gzip", ETag: weakCSS + `-gz"`, Vary: "Accept-Encoding", Body: bigCSS}},
		{name: "br preferred", target: "/style.css", ae: "gzip, deflate, br, zstd",
			want: got{Status: 200, Encoding: "br", ETag: weakCSS + `-br"`, Vary: "Accept-Encoding", Body: bigCSS}},
		{name: "br refused", target: "/style.css", ae: "br;q=0, gzip;q=0.5",
			want: got{Status: 200, Encoding: "gzip", ETag: weakCSS + `-gz"`, Vary: "Accept-Encoding", Body: bigCSS}},
		{name: "star", target: "/style.css", ae: "*",
			want: got{Status: 200, Encoding: "br", ETag: weakCSS + `-br"`, Vary: "Accept-Encoding", Body: bigCSS}},
		{name: "identity only", target: "/style.css", ae: "identity",
			want: got{Status: 200, ETag: weakCSS + `"`, Vary: "Accept-Encoding", Body: bigCSS}},
		{name: "none accepted", target: "/style.css", ae: "",
			want: got{Status: 200, ETag: weakCSS + `"`, Vary: "Accept-Encoding", Body: bigCSS}},
		{name: "html with manifest tag", target: "/big.html", ae: "gzip",
			want: got{Status: 200, Encoding: "gzip", ETag: sha(bigHTML)[:65] + `-gz"`, Vary: "Accept-Encoding", Body: bigHTML}},
		{name: "tiny body", target: "/small.css", ae: "br, gzip",
			want: got{Status: 200, ETag: `W/"3-` + strconv.FormatInt(t0.UnixNano(), 16) + `"`, Vary: "Accept-Encoding", Body: "p{}"}},
		{name: "not text", target: "/logo", ae: "br, gzip",
			want: got{Status: 200, ETag: `W/"` + strconv.FormatInt(int64(len(png)), 16) + "-" + strconv.FormatInt(t0.UnixNano(), 16) + `"`, Vary: "Accept-Encoding", Body: png}},
		{name: "precompressed gz", target: "/app.js", ae: "gzip",
			want: got{Status: 200, Encoding: "gzip", ETag: sha(bigJS)[:65] + `-gz"`, Vary: "Accept-Encoding", Body: "sibling gz"}},
		{name: "precompressed br", target: "/app.js", ae: "gzip, br",
			want: got{Status: 200, Encoding: "br", ETag: sha(bigJS)[:65] + `-br"`, Vary: "Accept-Encoding", Body: "sibling br"}},
		{name: "stale sibling ignored", target: "/old.js", ae: "gzip",
			want: got{Status: 200, Encoding: "gzip", ETag: `W/"` + strconv.FormatInt(int64(len(bigJS)), 16) + "-" + strconv.FormatInt(t0.UnixNano(), 16) + `-gz"`, Vary: "Accept-Encoding", Body: bigJS}},
	}
	writeFiles(t, dir, map[string]string{"big.html": bigHTML})
	writeIndex(t, dir, t0.Add(time.Hour),
		entry("/app.js", files["app.js"], "text/javascript; charset=utf-8"),
		entry("/big.html", bigHTML, "text/html; charset=utf-8"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, s, "GET", tt.target, map[string]string{"Accept-Encoding": tt.ae})
			enc := resp.Header.Get("Content-Encoding")
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length = %q, body has %d bytes", cl, len(body))
			}
			g := got{
				Status:   resp.StatusCode,
				Encoding: enc,
				ETag:     resp.Header.Get("ETag"),
				Vary:     resp.Header.Get("Vary"),
				Body:     decode(t, enc, body),
			}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}

			head, hbody := do(t, s, "HEAD", tt.target, map[string]string{"Accept-Encoding": tt.ae})
			if hbody != "" || head.Header.Get("Content-Length") != strconv.Itoa(len(body)) || head.Header.Get("Content-Encoding") != enc {
				t.Errorf("HEAD: Content-Length %q, Content-Encoding %q, body %q; want %d, %q, none",
					head.Header.Get("Content-Length"), head.Header.Get("Content-Encoding"), hbody, len(body), enc)
			}
		})
	}
}

// TestFileServerWire checks lengths on a real connection, where a wrong
// Content-Length breaks the response.
func TestFileServerWire(t *testing.T) {
	dir, _ := testSite(t)
	srv := httptest.NewServer(newFileServer(t, dir))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	tests := []struct {
		method, path, ae, ifMatch string
		wantCode                  int
		wantLen                   int64
	}{
		{method: "GET", path: "/style.css", ae: "gzip", wantCode: 200, wantLen: -2},
		{method: "GET", path: "/style.css", ae: "br", wantCode: 200, wantLen: -2},
		{method: "HEAD", path: "/style.css", ae: "br", wantCode: 200, wantLen: -2},
		{method: "GET", path: "/app.js", ae: "gzip", wantCode: 200, wantLen: int64(len(gzipped(t, "sibling gz")))},
		{method: "GET", path: "/app.js", ae: "gzip", ifMatch: `"nope"`, wantCode: 412, wantLen: 0},
		{method: "GET", path: "/style.css", ae: "gzip", ifMatch: `"nope"`, wantCode: 412, wantLen: 0},
		{method: "GET", path: "/nope", ae: "gzip", wantCode: 404, wantLen: -2},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", tt.ae)
		if tt.ifMatch != "" {
			req.Header.Set("If-Match", tt.ifMatch)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Errorf("%s %s %s: read body: %v", tt.method, tt.path, tt.ae, err)
		}
		if resp.StatusCode != tt.wantCode {
			t.Errorf("%s %s %s: status %d, want %d", tt.method, tt.path, tt.ae, resp.StatusCode, tt.wantCode)
		}
		if tt.wantLen == -2 {
			if tt.method == "GET" && resp.ContentLength != int64(len(body)) {
				t.Errorf("%s %s %s: Content-Length %d, body %d bytes", tt.method, tt.path, tt.ae, resp.ContentLength, len(body))
			}
			if tt.method == "HEAD" && resp.ContentLength <= 0 {
				t.Errorf("%s %s %s: Content-Length %d", tt.method, tt.path, tt.ae, resp.ContentLength)
			}
		} else if resp.ContentLength != tt.wantLen || int64(len(body)) != tt.wantLen {
			t.Errorf("%s %s %s: Content-Length %d, body %d bytes, want %d", tt.method, tt.path, tt.ae, resp.ContentLength, len(body), tt.wantLen)
		}
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		header, coding string
		want           bool
	}{
		{"gzip", "gzip", true},
		{"GZIP", "gzip", true},
		{"gzip;q=0", "gzip", false},
		{"gzip; q=0.001", "gzip", true},
		{"deflate, br", "gzip", false},
		{"*", "br", true},
		{"*;q=0", "br", false},
		{"*, br;q=0", "br", false},
		{"br;q=0, *", "br", false},
		{"gzip;q=bad", "gzip", false},
		{"", "gzip", false},
	}
	for _, tt := range tests {
		if got := accepts(tt.header, tt.coding); got != tt.want {
			t.Errorf("accepts(%q, %q) = %v, want %v", tt.header, tt.coding, got, tt.want)
		}
	}
}

// TestFileServerReload: with Reload, HTML pages (and the 404 page) carry
// the reload script, keep an ETag of their own that revalidates with 304,
// and are compressed like other text; other files are served as without it.
func TestFileServerReload(t *testing.T) {
	dir, files := testSite(t)
	writeFiles(t, dir, map[string]string{"big.html": bigHTML})
	writeIndex(t, dir, t0.Add(time.Hour),
		entry("/app.js", files["app.js"], "text/javascript; charset=utf-8"),
		entry("/big.html", bigHTML, "text/html; charset=utf-8"))
	plain := newFileServer(t, dir)
	s, err := NewFileServer(dir, FileServerOptions{Reload: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target, ae string
		status           int
		encoding         string
		etag             string // "" for the plain server's, marked
		body             string // decoded
	}{
		{name: "small page", target: "/", ae: "gzip, br", status: 200, body: "<html><body>home" + reloadScript + "</body></html>"},
		{name: "page, gzip", target: "/big.html", ae: "gzip", status: 200, encoding: "gzip",
			etag: sha(bigHTML)[:65] + `-reload-gz"`, body: string(insertScript([]byte(bigHTML)))},
		{name: "page, br", target: "/big.html", ae: "br, gzip", status: 200, encoding: "br",
			etag: sha(bigHTML)[:65] + `-reload-br"`, body: string(insertScript([]byte(bigHTML)))},
		{name: "page, identity", target: "/big.html", ae: "", status: 200,
			etag: sha(bigHTML)[:65] + `-reload"`, body: string(insertScript([]byte(bigHTML)))},
		{name: "not found", target: "/nope", ae: "gzip", status: 404, body: "<html><body>not here" + reloadScript + "</body></html>"},
		{name: "script untouched", target: "/app.js", ae: "br", status: 200, encoding: "br", etag: sha(bigJS)[:65] + `-br"`, body: "sibling br"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.etag
			if want == "" && tt.status == 200 {
				pr, _ := do(t, plain, "GET", tt.target, map[string]string{"Accept-Encoding": tt.ae})
				want = withReloadTag(pr.Header.Get("ETag"))
			}
			resp, body := do(t, s, "GET", tt.target, map[string]string{"Accept-Encoding": tt.ae})
			enc := resp.Header.Get("Content-Encoding")
			if resp.StatusCode != tt.status || enc != tt.encoding || resp.Header.Get("ETag") != want {
				t.Errorf("GET: %d, Content-Encoding %q, ETag %q; want %d, %q, %q", resp.StatusCode, enc, resp.Header.Get("ETag"), tt.status, tt.encoding, want)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length = %q, body has %d bytes", cl, len(body))
			}
			if diff := cmp.Diff(tt.body, decode(t, enc, body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if tt.status != 200 {
				return
			}
			again, abody := do(t, s, "GET", tt.target, map[string]string{"Accept-Encoding": tt.ae, "If-None-Match": want})
			if again.StatusCode != http.StatusNotModified || abody != "" {
				t.Errorf("If-None-Match %s: %d with %d bytes, want 304", want, again.StatusCode, len(abody))
			}
			if tt.etag == "" || strings.HasSuffix(tt.target, ".js") {
				return
			}
			// The file's own tag (a cached page without the script) is not
			// the page's: it gets the page again.
			old, _ := do(t, s, "GET", tt.target, map[string]string{"Accept-Encoding": tt.ae, "If-None-Match": sha(bigHTML)})
			if old.StatusCode != 200 {
				t.Errorf("If-None-Match of the file: %d, want 200", old.StatusCode)
			}
		})
	}
}
