package output

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
)

// BenchmarkIndexApply updates 500 list pages of an index of 20,000, each
// with one row dep replaced, as an incremental build does when a row is
// inserted at the top of a paginated list.
func BenchmarkIndexApply(b *testing.B) { benchIndexApply(b, 500, false) }

// BenchmarkIndexShiftedLists is the index's part of a numbered insert at
// 100,000 rows: the entries of the 1,898 list pages shifted by one row,
// with their row spans (bake.Entry.Rows), put in one update, as the
// update that splices them does. With BenchmarkInPlaceShiftedLists (the
// files), the floor of such an update.
func BenchmarkIndexShiftedLists(b *testing.B) { benchIndexApply(b, 1898, true) }

func benchIndexApply(b *testing.B, pages int, spans bool) {
	ctx := context.Background()
	dir := b.TempDir()
	if parent := os.Getenv("BAKE_BENCH_DIR"); parent != "" { // tmpfs, as the site's
		var err error
		if dir, err = os.MkdirTemp(parent, "index-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	p := filepath.Join(dir, filepath.FromSlash(IndexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	entry := func(i, shift int) bake.Entry {
		e := bake.Entry{Path: fmt.Sprintf("/items/page/%05d/", i), SHA256: strings.Repeat(fmt.Sprint(shift%10), 64), Size: 30000,
			Type: "text/html; charset=utf-8", Route: "list", Digest: fmt.Sprint(shift)}
		e.Deps = append(e.Deps, "tmpl:list.html", "table:items")
		for r := range 50 {
			e.Deps = append(e.Deps, bake.Dep(fmt.Sprintf("row:items/%07d", i*50+r+shift)))
		}
		if spans {
			e.Digest = ""
			e.Rows = &bake.RowSpans{At: 3260}
			for r := range 50 {
				e.Rows.Lens = append(e.Rows.Lens, 290+(i+r+shift)%30)
				e.Rows.Keys = append(e.Rows.Keys, fmt.Sprint(i*50+r+shift))
			}
		}
		return e
	}
	line := func(e bake.Entry) []byte {
		l, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	w, err := NewIndexWriter(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20000 {
		e := entry(i, 0)
		if err := w.Add(ctx, &e, line(e)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Commit(ctx, nil); err != nil {
		b.Fatal(err)
	}
	idx, err := OpenIndex(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	var us [2]Update // applied in turn: each moves every page's rows by one
	for k := range us {
		for i := range pages {
			e := entry(i, k+1)
			us[k].Put = append(us[k].Put, Record{Entry: e, Line: line(e)})
		}
	}
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		if err := idx.Apply(ctx, us[n%2]); err != nil {
			b.Fatal(err)
		}
	}
}
