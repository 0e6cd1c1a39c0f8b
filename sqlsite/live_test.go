package sqlsite_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
)

// TestLiveMatchesBuild renders every path of a built site through the live
// handler (bake serve --live) and expects the same bytes and content type.
func TestLiveMatchesBuild(t *testing.T) {
	t.Parallel()
	// With a static page at a folder's path: the page /about/.
	dir, db := blogWithStaticAbout(t)
	out := filepath.Join(dir, "_site")
	m, err := bake.ReadManifest(strings.NewReader(strings.Join(manifest(t, out), "\n")))
	if err != nil {
		t.Fatal(err)
	}
	site := newSite(t, dir, db)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, bake.EscapePath(path), nil)
		site.ServeHTTP(rec, req)
		return rec
	}
	for _, e := range m.Entries {
		name, _ := bake.FileName(e.Path)
		want, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		rec := get(e.Path)
		status := http.StatusOK
		if rec.Code != status {
			t.Errorf("%s: status %d, want %d", e.Path, rec.Code, status)
			continue
		}
		if got := rec.Body.String(); got != string(want) {
			t.Errorf("%s: live body differs from the build:\n got %q\nwant %q", e.Path, got, want)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, strings.Split(e.Type, ";")[0]) {
			t.Errorf("%s: content type %q, want %q", e.Path, ct, e.Type)
		}
	}
	if !slices.ContainsFunc(m.Entries, func(e bake.Entry) bool { return e.Path == "/about/" }) {
		t.Errorf("no page /about/ in the manifest")
	}
	if rec := get("/posts/index.html"); rec.Code != http.StatusOK || rec.Body.String() != get("/posts/").Body.String() {
		t.Errorf("/posts/index.html: %d, want the page /posts/", rec.Code)
	}
	if rec := get("/no/such/page/"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "<h1>Not found</h1>") {
		t.Errorf("missing page: %d %q", rec.Code, rec.Body.String())
	}
	if rec := get("/posts"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/posts/" {
		t.Errorf("folder without slash: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}
