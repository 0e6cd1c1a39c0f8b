package sqlsite_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/benchsite"
	"github.com/bakehq/bake/sqlsite"
)

// benchSite returns the benchmark workload's site with n items in SQLite.
func benchSite(b *testing.B, n int) *sqlsite.Site {
	b.Helper()
	dir := b.TempDir()
	if err := benchsite.WriteSite(dir); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := benchsite.Populate(ctx, db, benchsite.DialectSQLite, benchsite.Options{Items: n}); err != nil {
		b.Fatal(err)
	}
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	return site
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
