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
