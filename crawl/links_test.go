package crawl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHTMLLinks(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"a", `<p><a href="/posts/a/">a</a> <A HREF='/b'>b</A> <a href=/c class=x>c</a></p>`, []string{"/posts/a/", "/b", "/c"}},
		{"entities", `<a href="/s/?q=1&amp;p=2">`, []string{"/s/?q=1&p=2"}},
		{"link script img", `<link rel="stylesheet" href="/app.css"><script src="/app.js"></script><img alt="x > y" src="/i.png">`, []string{"/app.css", "/app.js", "/i.png"}},
		{"srcset", `<img src="/a.png" srcset="/a-1x.png 1x, /a-2x.png 2x"><source srcset="/b.webp">`, []string{"/a.png", "/a-1x.png", "/a-2x.png", "/b.webp"}},
		{"not links", `<div data-href="/x" title="href=/y"><abbr>x</abbr><meta content="/z">`, nil},
		{"css", `<div style="background: url('/bg.png')"></div><style>@import "/print.css"; .x{background:url(/x.svg)} .d{background:url(data:image/png;base64,AA)}</style>`, []string{"/bg.png", "/x.svg", "/print.css"}},
		{"unclosed", `<a href="/ok/">x</a><a href="/cut`, []string{"/ok/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, htmlLinks([]byte(tt.in))); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
		})
	}
}

func TestXMLLinks(t *testing.T) {
	in := `<urlset><url><loc> https://ex.org/a/ </loc></url></urlset><feed><link href="https://ex.org/b/"/><entry><link rel="alternate" href='/c/'/></entry></feed><rss><channel><link>https://ex.org/d/</link></channel></rss>`
	want := []string{"https://ex.org/a/", "https://ex.org/d/", "https://ex.org/b/", "/c/"}
	if diff := cmp.Diff(want, xmlLinks([]byte(in))); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
}

func TestRobots(t *testing.T) {
	r := parseRobots([]byte("User-agent: Googlebot\nDisallow: /nogoogle/\n\nUser-agent: *\nDisallow: /admin/\nDisallow:\n# Disallow: /commented/\nSitemap: https://ex.org/sitemap-news.xml\n"))
	if diff := cmp.Diff([]string{"/admin/"}, r.disallow); diff != "" {
		t.Errorf("disallow (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://ex.org/sitemap-news.xml"}, r.sitemaps); diff != "" {
		t.Errorf("sitemaps (-want +got):\n%s", diff)
	}
	for p, want := range map[string]bool{"/admin/x": false, "/nogoogle/": true, "/": true} {
		if got := r.allowed(p); got != want {
			t.Errorf("allowed(%s) = %v", p, got)
		}
	}
}
