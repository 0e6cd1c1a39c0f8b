package handlersite

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bakehq/bake/crawl"
)

// FuzzRedirectTarget checks the mapping of a handler's Location to the
// target of a redirect entry: a path of the site starts with one slash
// (never "//", which a browser reads as another host), anything else is
// an absolute URL of another site, and the redirect page can be made.
func FuzzRedirectTarget(f *testing.F) {
	for _, loc := range []string{"/posts/a/", "b/", "../c", "https://example.org/x?y=1", "//evil.example/x", "http://other.example/", "/\\evil.example", "?q=1", "#top", "mailto:a@b"} {
		f.Add("/posts/x/", loc)
	}
	s, err := New(http.NotFoundHandler(), List(), Options{BaseURL: "https://example.org"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, upath, loc string) {
		if !strings.HasPrefix(upath, "/") {
			return
		}
		target, err := s.target(upath, loc)
		if err != nil {
			return
		}
		if strings.HasPrefix(target, "//") {
			t.Fatalf("target(%q, %q) = %q: another host to a browser", upath, loc, target)
		}
		if !strings.HasPrefix(target, "/") && !strings.Contains(target, ":") {
			t.Fatalf("target(%q, %q) = %q: neither a path nor a URL", upath, loc, target)
		}
		if rest, ok := strings.CutPrefix(target, "https://example.org/"); ok && !strings.HasPrefix(rest, "/") {
			t.Fatalf("target(%q, %q) = %q: a URL of the site itself, not its path", upath, loc, target)
		}
		if _, err := crawl.RedirectPage(target, s.base); err != nil {
			t.Fatal(err)
		}
	})
}
