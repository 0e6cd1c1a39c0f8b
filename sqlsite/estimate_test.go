package sqlsite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake/sqlsite"
)

// TestEstimatePages: the progress bar's guess of a first build is near the
// pages the build makes.
func TestEstimatePages(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	pages := len(manifest(t, filepath.Join(dir, "_site"))) - 1 // the header line
	site := newSite(t, dir, db)
	n, err := site.EstimatePages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < int64(pages)/2 || n > 2*int64(pages) {
		t.Errorf("estimate %d pages, the build made %d", n, pages)
	}
	t.Logf("estimate %d, built %d", n, pages)
}

// TestQueryEndingInComment: a route query may end in a -- comment; bake
// wraps queries (counts, columns, pages) on lines of their own.
func TestQueryEndingInComment(t *testing.T) {
	t.Parallel()
	dir, db := blogWithRoutes(t, "[[route]]\nname = \"c\"\nkind = \"detail\"\npath = \"/c/{slug}/\"\nquery = \"\"\"\nSELECT id, slug, title, tag, body, published_at FROM posts WHERE published\n-- published only\"\"\"\ntemplate = \"404.html\"\n\n")
	site := newSite(t, dir, db)
	if _, err := site.EstimatePages(context.Background()); err != nil {
		t.Fatal(err)
	}
}
