package sqlsite_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake/sqlsite"
)

// TestSitemapSplits checks that past 50,000 URLs the sitemap becomes an
// index of parts, each within the protocol's limit, listing every URL once
// in path order.
func TestSitemapSplits(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes 50,003 pages")
	}
	dir := writeItemsSite(t, 50003, `exclude = ["/i/3/"]`)
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
	// 50,002 URLs: an index and parts of about 5,000 (see sitemapCuts).
	index := maps["/sitemap.xml"]
	if !strings.Contains(index, "<sitemapindex") {
		t.Fatalf("/sitemap.xml is not an index:\n%.300s", index)
	}
	parts := len(maps) - 1
	if parts < 5 || parts > 20 {
		t.Errorf("%d parts, want about 10", parts)
	}
	var paths []string
	for i := 1; i <= parts; i++ {
		name := fmt.Sprintf("/sitemap-%d.xml", i)
		part, ok := maps[name]
		if !ok {
			t.Fatalf("no %s among %d parts", name, parts)
		}
		if !strings.Contains(index, "<loc>https://x.example"+name+"</loc>") {
			t.Errorf("the index does not list %s", name)
		}
		n := strings.Count(part, "<url>")
		if n == 0 || n > 50000 {
			t.Errorf("%s lists %d URLs, want 1 to 50,000", name, n)
		}
		for _, loc := range regexp.MustCompile(`<loc>https://x\.example([^<]*)</loc>`).FindAllStringSubmatch(part, -1) {
			paths = append(paths, loc[1])
		}
	}
	if len(paths) != 50002 {
		t.Errorf("the parts list %d URLs, want 50,002 (50,003 pages less one excluded)", len(paths))
	}
	// URLs are sorted by path: the parts hold the paths in that order.
	if !slices.IsSorted(paths) {
		t.Error("the parts do not list the URLs in path order")
	}
	if slices.Contains(paths, "/i/3/") {
		t.Error("the excluded /i/3/ is listed")
	}
}

// writeItemsSite writes a site of n items, each a page /i/ID/, and a
// sitemap route with the lines of sitemap (exclude = …) added.
func writeItemsSite(t *testing.T, n int, sitemap string) string {
	t.Helper()
	return writeSite(t, map[string]string{
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
` + sitemap + "\n",
		"seed.sql": fmt.Sprintf(`CREATE TABLE items (id INTEGER PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) INSERT INTO items SELECT i FROM n;`, n),
		"templates/item.html": `{{.Row.id}}`,
	})
}
