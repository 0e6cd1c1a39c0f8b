package sqlsite

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bakehq/bake"
)

func TestSlug(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Latin-1 Supplement":     "latin-1-supplement",
		"latin 1 supplement":     "latin-1-supplement",
		"  Café & crème brûlée ": "cafe-creme-brulee",
		"C++/C#":                 "c-c",
		"½ price":                "1-2-price", // NFKD: 1⁄2
		"Ǆemal":                  "dzemal",
		"日本語":                    "",
		"---":                    "",
		"a\x00b\u0085c":          "a-b-c",
		"ÅNGSTRÖM":               "angstrom",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
	// The template function agrees with paths on every type a row holds.
	day := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    any
		want string
	}{{nil, ""}, {int64(42), "42"}, {1.5, "1-5"}, {[]byte("Hi There"), "hi-there"}, {day, "2026-03-01"}, {true, "true"}} {
		if got := slugify(tt.v); got != tt.want {
			t.Errorf("slugify(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestParseSluggedPattern(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ src, err string }{
		{"/blocks/{block|slugify}/", ""},
		{"/blocks/{ block | slugify }/", ""},
		{"/c/{name|slugify}-{id}/", ""},
		{"/blocks/{block|slug}/", `{block|slug}: unknown filter "slug": the one filter of a path is slugify, as in {block|slugify}`},
		{"/blocks/{block|}/", `unknown filter ""`},
		{"/blocks/{|slugify}/", `{|slugify} is not a column name`},
		{"/blocks/{a|slugify}{b}/", `{b} follows another {column}`},
	} {
		p, err := parsePattern(tt.src)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.src, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want %q", tt.src, err, tt.err)
		case err == nil && !p.slugged():
			t.Errorf("%s: not slugged", tt.src)
		}
	}
}

func TestFillSlugged(t *testing.T) {
	t.Parallel()
	p, err := parsePattern("/c/{name|slugify}-{id}/")
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]any{"id": int64(7)}
	get := func(k string) (any, bool) { v, ok := row[k]; return v, ok }
	for _, tt := range []struct {
		name any
		want string
		err  string
	}{
		{"Ünïcode & Friends", "/c/unicode-friends-7/", ""},
		{"a/b\\c", "/c/a-b-c-7/", ""}, // a slug has no / or \ left
		{"..", "", `column name: value ".." slugs to nothing`},
		{"日本", "", `value "日本" slugs to nothing`},
		{nil, "", "column name: value is NULL"},
		{strings.Repeat("x", 256), "", "is 256 bytes long, more than the 255 bytes of a path segment"},
	} {
		row["name"] = tt.name
		for _, fill := range []func(func(string) (any, bool)) (string, error){p.fill, p.fillEscaped} {
			got, err := fill(get)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("%q: %q, %v; want error %q", tt.name, got, err, tt.err)
				}
				continue
			}
			if err != nil || got != tt.want {
				t.Errorf("%q: %q, %v; want %q", tt.name, got, err, tt.want)
			}
		}
	}
}

// TestSluggedMatcher: the regexp of a slugged route matches the paths it
// makes, and no other folder.
func TestSluggedMatcher(t *testing.T) {
	t.Parallel()
	p, _ := parsePattern("/blocks/{block|slugify}/")
	r := &Route{Kind: KindList, Path: p.src, GroupBy: "block", PerPage: 1, pattern: p}
	m := r.matcher()
	for path, want := range map[string]bool{
		"/blocks/latin-1-supplement/":        true,
		"/blocks/latin-1-supplement/page/2/": true,
		"/blocks/Latin-1 Supplement/":        false,
		"/blocks/latin--1/":                  false,
		"/blocks/-latin/":                    false,
		"/blocks//":                          false,
	} {
		if got := m.MatchString(path); got != want {
			t.Errorf("%s: match %v, want %v", path, got, want)
		}
	}
}

// FuzzSlugSegment: the slug of any value is one path segment bake can
// write (bake.FileName takes it, alone and in a path), made of a-z, 0-9
// and single dashes, the same as the slugify template function, and the
// same again when slugged twice; or an error for a value with nothing to
// keep, never an empty segment.
func FuzzSlugSegment(f *testing.F) {
	for _, s := range []string{"Latin-1 Supplement", "", "..", "/", "日本", "Ǆ", "a\x00b", "½", "ﷺ", "-a-", strings.Repeat("ﷺ", 20)} {
		f.Add(s)
	}
	p, err := parsePattern("/blocks/{block|slugify}/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := slugSegment(v)
		if err != nil {
			if !strings.Contains(err.Error(), "slugs to nothing") && !strings.Contains(err.Error(), "bytes of a path segment") {
				t.Fatalf("%q: unexpected error %v", v, err)
			}
			if _, ferr := p.fill(func(string) (any, bool) { return v, true }); ferr == nil {
				t.Fatalf("%q: slugSegment fails (%v) but fill does not", v, err)
			}
			return
		}
		if s == "" || len(s) > maxSegment || !utf8.ValidString(s) {
			t.Fatalf("%q: slug %q", v, s)
		}
		if s != slugify(v) {
			t.Fatalf("%q: path slug %q, template slugify %q", v, s, slugify(v))
		}
		if slug(s) != s {
			t.Fatalf("%q: slug %q is not its own slug (%q)", v, s, slug(s))
		}
		if strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("%q: slug %q has a stray dash", v, s)
		}
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("%q: slug %q has byte %q", v, s, c)
			}
		}
		path, err := p.fill(func(string) (any, bool) { return v, true })
		if err != nil || path != "/blocks/"+s+"/" {
			t.Fatalf("%q: fill %q, %v", v, path, err)
		}
		if _, err := bake.FileName(path); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if _, err := bake.FileName("/" + s); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if !regexpMatch(s) {
			t.Fatalf("%q: slug %q does not match slugRE", v, s)
		}
	})
}

var slugOnly = regexp.MustCompile("^" + slugRE + "$")

func regexpMatch(s string) bool { return slugOnly.MatchString(s) }

// BenchmarkFill compares the path of a detail row with its value as it is
// and slugged (ASCII, and with accents: NFKD).
func BenchmarkFill(b *testing.B) {
	for _, c := range []struct{ name, pattern, value string }{
		{"raw", "/items/{title}/", "Results of the county election night"},
		{"slug-ascii", "/items/{title|slugify}/", "Results of the county election night"},
		{"slug-accents", "/items/{title|slugify}/", "Résultats de la soirée électorale"},
	} {
		p, err := parsePattern(c.pattern)
		if err != nil {
			b.Fatal(err)
		}
		get := func(string) (any, bool) { return c.value, true }
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := p.fill(get); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
