package bake

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFileName(t *testing.T) {
	tests := []struct {
		path, want, err string
	}{
		{"/", "index.html", ""},
		{"/items/", "items/index.html", ""},
		{"/items/a-b/", "items/a-b/index.html", ""},
		{"/feed.xml", "feed.xml", ""},
		{"/café/", "café/index.html", ""},
		{"/about", "about", ""},
		{"/.well-known/security.txt", ".well-known/security.txt", ""},
		{"", "", "must start with /"},
		{"items/", "", "must start with /"},
		{"//", "", "empty segment"},
		{"/a//b/", "", "empty segment"},
		{"/../etc/passwd", "", `".." segment`},
		{"/a/../../b", "", `".." segment`},
		{"/a/./b", "", `"." segment`},
		{"/a/..", "", `".." segment`},
		{"/a\x00b/", "", "forbidden character"},
		{"/a\\..\\b/", "", "forbidden character"},
		{"/a\nb/", "", "forbidden character"},
		{"/\xff/", "", "not valid UTF-8"},
		{"/.bake/manifest.jsonl", "", "reserved"},
		{"/.htaccess", "", `starting with "."`},
		{"/a/.htaccess", "", `starting with "."`},
		{"/.git/config", "", `starting with "."`},
		{"/.env/", "", `starting with "."`},
		{"/a/.well-known/x", "", `starting with "."`},
		{"/x.attrs", "", "reserve for their metadata"},
		{"/a/page.attrs", "", "reserve for their metadata"},
		{"/x.attrs/", "x.attrs/index.html", ""},
		{"/a.b/c..d", "a.b/c..d", ""},
		{"/" + strings.Repeat("a", 256) + "/", "", "longer than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FileName(tt.path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("FileName(%q) = %q, %v; want error containing %q", tt.path, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FileName(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
			if back := PathOf(got); back != tt.path && !(strings.HasSuffix(tt.path, "/index.html")) {
				t.Errorf("PathOf(%q) = %q, want %q", got, back, tt.path)
			}
		})
	}
}

func TestEscapePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/items/a-b/", "/items/a-b/"},
		{"/café/", "/caf%C3%A9/"},
		{"/a b/?x#y", "/a%20b/%3Fx%23y"},
		{"/100%/", "/100%25/"},
	}
	for _, tt := range tests {
		if got := EscapePath(tt.in); got != tt.want {
			t.Errorf("EscapePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzFileName checks that every accepted path maps to a relative file name
// that stays inside the build folder and maps back to the same path.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"/", "/a/", "/a/b.html", "/../x", "/a/./b", "/café/", "/a\\b", "//x", "/.bake/x", "/a/..", "/.htaccess", "/.well-known/x", "/x.attrs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		name, err := FileName(path)
		if err != nil {
			return
		}
		if !utf8.ValidString(name) || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
			t.Fatalf("FileName(%q) = %q: not a clean relative name", path, name)
		}
		for i, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("FileName(%q) = %q: has segment %q", path, name, seg)
			}
			if strings.HasPrefix(seg, ".") && (i > 0 || seg != WellKnownDir) {
				t.Fatalf("FileName(%q) = %q: has dot-file segment %q", path, name, seg)
			}
		}
		if strings.HasSuffix(name, AttrsSuffix) {
			t.Fatalf("FileName(%q) = %q: a folder target's metadata name", path, name)
		}
		if strings.HasPrefix(name, ReservedDir+"/") || name == ReservedDir {
			t.Fatalf("FileName(%q) = %q: inside the reserved folder", path, name)
		}
		back := PathOf(name)
		if again, err := FileName(back); err != nil || again != name {
			t.Fatalf("FileName(PathOf(%q)) = %q, %v", name, again, err)
		}
	})
}
