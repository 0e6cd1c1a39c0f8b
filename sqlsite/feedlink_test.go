package sqlsite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/sqlsite"
)

// TestFeedLinkEscaped: a feed item's link is made of row values, escaped
// whole: a # or ? in a slug is part of the path, as in the sitemap.
func TestFeedLinkEscaped(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := db.Exec("INSERT INTO posts VALUES (6, 'why-c#?', 'C sharp', 'news', 'x', TRUE, '2026-04-01 00:00:00')"); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"feed.xml", "sitemap.xml"} {
		b, err := os.ReadFile(filepath.Join(dir, "_site", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "https://blog.example/posts/why-c%23%3F/") || strings.Contains(string(b), "why-c#") {
			t.Errorf("%s: the post's URL is not https://blog.example/posts/why-c%%23%%3F/:\n%s", f, b)
		}
	}
}

// TestFeedContentLinksAbsolute: root-relative links in a feed's content
// are made absolute against base_url (a reader resolves them against the
// feed's host, or not at all), and an Atom entry without an author column
// has the site's title as its author (RFC 4287 wants one).
func TestFeedContentLinksAbsolute(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := db.Exec("INSERT INTO posts VALUES (6, 'race', 'Race', 'news', 'See [the race](/races/1/), ![map](/img/map.png) and [elsewhere](https://other.example/x) or [proto](//cdn.example/y).', TRUE, '2026-04-01 00:00:00')"); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "_site", "feed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`href=&#34;https://blog.example/races/1/&#34;`,
		`src=&#34;https://blog.example/img/map.png&#34;`,
		`href=&#34;https://other.example/x&#34;`,
		`href=&#34;//cdn.example/y&#34;`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("feed.xml lacks %s:\n%s", want, b)
		}
	}
	atom, err := os.ReadFile(filepath.Join(dir, "_site", "atom.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if n, a := strings.Count(string(atom), "<entry>"), strings.Count(string(atom), "<author>\n      <name>Test blog</name>\n    </author>"); n == 0 || a != n {
		t.Errorf("atom.xml: %d entries, %d with the site's title as author:\n%s", n, a, atom)
	}
}
