package sqlsite

import "testing"

func TestAbsURL(t *testing.T) {
	t.Parallel()
	f := &funcs{site: &Site{cfg: &Config{Site: SiteConfig{BaseURL: "https://example.org/base"}}}}
	tests := []struct{ in, want string }{
		{"/posts/", "https://example.org/base/posts/"},
		{"posts/", "https://example.org/base/posts/"},
		// The output of url is already encoded: it stays as it is.
		{"/posts/caf%C3%A9-au-lait/", "https://example.org/base/posts/caf%C3%A9-au-lait/"},
		{"/posts/café au lait/", "https://example.org/base/posts/caf%C3%A9%20au%20lait/"},
		{"/search/?q=a b#frag", "https://example.org/base/search/?q=a%20b#frag"},
		{"/100%/", "https://example.org/base/100%25/"},
		{"/a%2/", "https://example.org/base/a%252/"},
		{`/x"<y>{z}|^` + "`\\/", "https://example.org/base/x%22%3Cy%3E%7Bz%7D%7C%5E%60%5C/"},
		{"https://other.org/ü", "https://other.org/ü"},
	}
	for _, tt := range tests {
		if got := f.absurl(tt.in); got != tt.want {
			t.Errorf("absurl(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEncodeURLPath(f *testing.F) {
	for _, s := range []string{"/a b/", "/%C3%A9/", "/%zz", "/ü?x#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := encodeURLPath(s)
		if again := encodeURLPath(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("%q -> %q: byte %#x left as is", s, got, c)
			}
		}
	})
}
