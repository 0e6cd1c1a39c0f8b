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
	"github.com/google/go-cmp/cmp"
)

// FuzzParseRowSpans: what parseRowSpans reads of row spans as json.Marshal
// writes them equals what json.Unmarshal reads, or it declines.
func FuzzParseRowSpans(f *testing.F) {
	f.Add(12, 3, 40, "1", "2")
	f.Add(0, 0, 0, "", "é\"\\")
	f.Add(-1, 99999, 1, "a,b", "]}")
	f.Fuzz(func(t *testing.T, at, l1, l2 int, k1, k2 string) {
		for _, sp := range []bake.RowSpans{
			{At: at, Lens: []int{l1, l2}, Keys: []string{k1, k2}},
			{At: at, Lens: []int{l1}, Keys: []string{k1}},
			{At: at, Lens: []int{}, Keys: []string{}},
		} {
			b, err := json.Marshal(&sp)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := parseRowSpans(b)
			if !ok {
				continue
			}
			var want bake.RowSpans
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&want, got); d != "" {
				t.Errorf("parseRowSpans(%s) (-json +got):\n%s", b, d)
			}
		}
	})
}

func TestParseRowSpansReadsWhatBuildsWrite(t *testing.T) {
	b := []byte(`{"at":3260,"lens":[298,298,309],"keys":["99898","99897","a b"]}`)
	got, ok := parseRowSpans(b)
	want := &bake.RowSpans{At: 3260, Lens: []int{298, 298, 309}, Keys: []string{"99898", "99897", "a b"}}
	if !ok {
		t.Fatalf("parseRowSpans(%s) declined", b)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseRowSpans (-want +got):\n%s", d)
	}
}

// FuzzLineHead: LineHead reads what json.Unmarshal reads of a line's
// first fields, or declines.
func FuzzLineHead(f *testing.F) {
	f.Add("/a/", "ab", "items", "1", "text/html")
	f.Add("/é\"/", "", "", "k\\", "x")
	f.Fuzz(func(t *testing.T, path, sha, route, key, typ string) {
		b, err := json.Marshal(&bake.Entry{Path: path, SHA256: sha, Size: 3, Type: typ, Route: route, Key: key, Deps: []bake.Dep{"table:t"}})
		if err != nil {
			t.Fatal(err)
		}
		p, s, r, k, ok := LineHead(string(b))
		if !ok {
			return
		}
		var want bake.Entry
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got := (bake.Entry{Path: p, SHA256: s, Route: r, Key: k}); !cmp.Equal(got, bake.Entry{Path: want.Path, SHA256: want.SHA256, Route: want.Route, Key: want.Key}) {
			t.Errorf("LineHead(%s) = %+v, want %+v", b, got, want)
		}
	})
}

// BenchmarkRowSpans reads the row spans of a list of 1,898 pages among
// 90,000 detail pages under the same prefix, from an index opened anew each
// time: what an update splicing a numbered list of the bench site at
// 100,000 rows reads before its first page.
func BenchmarkRowSpans(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if parent := os.Getenv("BAKE_BENCH_DIR"); parent != "" {
		var err error
		if dir, err = os.MkdirTemp(parent, "rowspans-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	p := filepath.Join(dir, filepath.FromSlash(IndexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	w, err := NewIndexWriter(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	add := func(e bake.Entry) {
		line, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Add(ctx, &e, line); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 90000 {
		add(bake.Entry{Path: fmt.Sprintf("/items/item-%d/", i), SHA256: strings.Repeat("a", 64), Size: 10000, Type: "text/html; charset=utf-8",
			Route: "item", Key: fmt.Sprint(i), Deps: []bake.Dep{"tmpl:item.html", bake.Dep(fmt.Sprintf("row:items/%d", i))}})
	}
	for i := range 1898 {
		e := bake.Entry{Path: fmt.Sprintf("/items/page/%d/", i+1), SHA256: strings.Repeat("b", 64), Size: 30000, Type: "text/html; charset=utf-8",
			Route: "list", Deps: []bake.Dep{"table:items", "tmpl:list.html"}, Rows: &bake.RowSpans{At: 3260}}
		for r := range 50 {
			e.Deps = append(e.Deps, bake.Dep(fmt.Sprintf("row:items/%07d", i*50+r)))
			e.Rows.Lens = append(e.Rows.Lens, 290+r)
			e.Rows.Keys = append(e.Rows.Keys, fmt.Sprint(i*50+r))
		}
		add(e)
	}
	if err := w.Commit(ctx, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		idx, err := OpenIndex(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		got, err := idx.RowSpans(ctx, "list", "/items/")
		if err != nil || len(got) != 1898 {
			b.Fatalf("%d pages, %v", len(got), err)
		}
		idx.Close()
	}
}
