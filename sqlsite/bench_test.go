package sqlsite_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/benchsite"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
)

// benchDB writes the benchmark workload's site into a new folder and fills
// its SQLite database with n items.
func benchDB(tb testing.TB, n int) (dir string, db *sql.DB) {
	tb.Helper()
	dir = tb.TempDir()
	if err := benchsite.WriteSite(dir); err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := benchsite.Populate(context.Background(), db, benchsite.DialectSQLite, benchsite.Options{Items: n}); err != nil {
		tb.Fatal(err)
	}
	return dir, db
}

// benchSite returns the benchmark workload's site with n items in SQLite.
func benchSite(b *testing.B, n int) *sqlsite.Site {
	b.Helper()
	dir, db := benchDB(b, n)
	return newSite(b, dir, db)
}

// BenchmarkRenderPage measures the render hot path: one page of the
// benchmark workload, template and Markdown, into a reused buffer.
func BenchmarkRenderPage(b *testing.B) {
	site := benchSite(b, 200)
	ctx := context.Background()
	for _, path := range []string{"/items/item-100/", "/items/", "/categories/alpha/", "/feed.xml"} {
		b.Run(path, func(b *testing.B) {
			p, err := site.Page(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := p.Render(bake.WithTracker(ctx, &bake.Tracker{}), &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}

// BenchmarkRenderListPage renders the pages of /items/ as a build does:
// pages from Pages, with the build's state and a fragment cache kept in a
// folder, every list item a stored fragment (a second build, or an
// incremental one after a row moved every page). BenchmarkRenderPage's
// list case caches items in memory only, keyed differently.
func BenchmarkRenderListPage(b *testing.B) {
	site := benchSite(b, 2000)
	dir := b.TempDir()
	frags, err := output.OpenFragments(context.Background(), dir, "")
	if err != nil {
		b.Fatal(err)
	}
	ctx := bake.WithFragmentCache(context.Background(), frags)
	var pages []*bake.Page
	for p, err := range site.Pages(ctx) {
		if err != nil {
			b.Fatal(err)
		}
		if p.Route == "items" {
			pages = append(pages, p)
		}
	}
	var buf bytes.Buffer
	for _, p := range pages { // store every item's fragment
		buf.Reset()
		if err := p.Render(bake.WithTracker(ctx, &bake.Tracker{}), &buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := frags.Close(); err != nil {
		b.Fatal(err)
	}
	// A new pass reads them from the folder, as the next build does.
	if frags, err = output.OpenFragments(context.Background(), dir, ""); err != nil {
		b.Fatal(err)
	}
	defer frags.Close()
	ctx = bake.WithFragmentCache(context.Background(), frags)
	pages = pages[:0]
	for p, err := range site.Pages(ctx) {
		if err != nil {
			b.Fatal(err)
		}
		if p.Route == "items" {
			pages = append(pages, p)
		}
	}
	b.ReportAllocs()
	b.ReportMetric(float64(len(pages)), "pages")
	i := 0
	for b.Loop() {
		buf.Reset()
		if err := pages[i%len(pages)].Render(bake.WithTracker(ctx, &bake.Tracker{}), &buf); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPages measures producing the pages of 2,000 items (queries,
// streaming, paths, deps) without rendering them.
func BenchmarkPages(b *testing.B) {
	site := benchSite(b, 2000)
	ctx := context.Background()
	for b.Loop() {
		n := 0
		for _, err := range site.Pages(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n), "pages/op")
	}
}
