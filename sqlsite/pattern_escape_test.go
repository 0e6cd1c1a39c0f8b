package sqlsite

import "testing"

func TestFillEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct{ pattern, slug, want string }{
		{"/posts/{slug}/", "why-c#?", "/posts/why-c%23%3F/"},
		{"/posts/{slug}/", "café au lait", "/posts/caf%C3%A9%20au%20lait/"},
		{"/changelog/#{slug}", "v1", "/changelog/#v1"},
		{"/search/?q={slug}", "a b", "/search/?q=a%20b"},
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.fillEscaped(func(string) (any, bool) { return tt.slug, true })
		if err != nil || got != tt.want {
			t.Errorf("%s with %q: %q, %v; want %q", tt.pattern, tt.slug, got, err, tt.want)
		}
	}
	p, _ := parsePattern("/posts/{slug}/")
	if _, err := p.fillEscaped(func(string) (any, bool) { return "a/b", true }); err == nil {
		t.Errorf("a value with / was accepted")
	}
}

func TestSitemapExcluded(t *testing.T) {
	t.Parallel()
	exclude := []string{"/drafts/", "/about/index.html", "/index.html"}
	for path, want := range map[string]bool{
		"/drafts/":      true,
		"/drafts/x/":    true,
		"/about/":       true,
		"/about/team/":  false,
		"/":             true,
		"/posts/hello/": false,
	} {
		if got := excluded(exclude, path); got != want {
			t.Errorf("excluded(%q) = %v, want %v", path, got, want)
		}
	}
}
