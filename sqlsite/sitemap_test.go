package sqlsite_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bakehq/bake/sqlsite"
)

// TestSitemapSplits checks that past 50,000 URLs the sitemap becomes an
// index of parts, each within the protocol's limit.
func TestSitemapSplits(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes 50,003 pages")
	}
	dir := writeSite(t, map[string]string{
		"bake.toml": `[site]
base_url = "https://x.example"
[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/i/{id}/"
query = "SELECT id FROM items"
template = "item.html"
[[route]]
kind = "sitemap"
exclude = ["/i/3/"]
`,
		"seed.sql": `CREATE TABLE items (id INTEGER PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50003) INSERT INTO items SELECT i FROM n;`,
		"templates/item.html": `{{.Row.id}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	site := newSite(t, dir, db)
	maps := map[string]string{}
	for p, err := range site.Pages(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.Path, "/sitemap") {
			var buf bytes.Buffer
			if err := p.Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			maps[p.Path] = buf.String()
		}
	}
	if len(maps) != 3 {
		t.Fatalf("%d sitemap files, want 3", len(maps))
	}
	index := maps["/sitemap.xml"]
	for _, want := range []string{"<sitemapindex", "<loc>https://x.example/sitemap-1.xml</loc>", "<loc>https://x.example/sitemap-2.xml</loc>"} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %q:\n%s", want, index)
		}
	}
	if n := strings.Count(maps["/sitemap-1.xml"], "<url>"); n != 50000 {
		t.Errorf("part 1 has %d URLs, want 50000", n)
	}
	part2 := maps["/sitemap-2.xml"]
	if n := strings.Count(part2, "<url>"); n != 2 {
		t.Errorf("part 2 has %d URLs, want 2 (50,003 pages less one excluded)", n)
	}
	// URLs are sorted by path: the parts hold the paths in that order.
	if !strings.Contains(part2, "<loc>https://x.example/i/9999/</loc>") || strings.Contains(maps["/sitemap-1.xml"], "/i/9999/<") ||
		!strings.Contains(maps["/sitemap-1.xml"], "<loc>https://x.example/i/10000/</loc>") {
		t.Error("wrong URLs in the parts")
	}
}
