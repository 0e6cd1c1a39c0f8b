package build

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
)

// jsonLine is the line json.Encoder writes for e, as builds wrote it
// before entryLine.
func jsonLine(t testing.TB, e *bake.Entry) (string, bool) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return err.Error(), false
	}
	return b.String(), true
}

func checkEntryLine(t testing.TB, e *bake.Entry) {
	t.Helper()
	want, wantOK := jsonLine(t, e)
	var l entryLine
	got, err := l.encode(e)
	if !wantOK {
		if err == nil {
			t.Errorf("encode(%+v) = %q, want json's error %s", e, got, want)
		}
		return
	}
	if err != nil {
		t.Fatalf("encode(%+v): %v", e, err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("encode(%+v) differs from json (-json +got):\n%s", e, diff)
	}
	// Reused, the buffers give the same line again.
	again, _ := l.encode(e)
	if string(again) != want {
		t.Errorf("second encode = %q, want %q", again, want)
	}
}

func TestEntryLineAsJSON(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	odd := time.FixedZone("LMT", 561) // seconds in the offset
	tests := []bake.Entry{
		{},
		{Path: "/", SHA256: "ab", Size: 10, Type: "text/html; charset=utf-8"},
		{Path: "/items/item-1/", SHA256: "0f", Size: 10612, Type: "text/html; charset=utf-8", Route: "item", Key: "1",
			LastMod: time.Date(2024, 3, 1, 12, 30, 0, 5, time.UTC), Encodings: []string{"br", "gzip"},
			Deps: []bake.Dep{"row:items/1", "table:items"}, Digest: "d1"},
		{Path: "/a&b<c>/", Type: "x", Redirect: "/new/?a=1&b=2"},
		{Path: `/quote"/`, Type: "x"},
		{Path: `/back\slash/`, Type: "x"},
		{Path: "/é/", Type: "x"},
		{Path: "/\u2028/", Type: "x"},
		{Path: "/\x7f/", Type: "x"},
		{Path: "/\x01/", Type: "x"},
		{Path: "/\xff/", Type: "x"},
		{Path: "/", Type: "x", Deps: []bake.Dep{"row:items/é"}},
		{Path: "/", Type: "x", Encodings: []string{"g\"z"}},
		{Path: "/", Type: "x", Key: "k\n"},
		{Path: "/", Type: "x", Digest: "\t"},
		{Path: "/", Type: "x", LastMod: time.Date(2024, 3, 1, 12, 30, 0, 0, paris)},
		{Path: "/", Type: "x", LastMod: time.Date(2024, 3, 1, 12, 30, 0, 0, odd)},
		{Path: "/", Type: "x", LastMod: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Path: "/", Type: "x", LastMod: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Path: "/", Type: "x", LastMod: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Path: "/", Type: "x", LastMod: time.Date(2024, 3, 1, 0, 0, 0, 0, time.FixedZone("far", 23*3600+59*60))},
		{Path: "/", Type: "x", Size: -1, Deps: []bake.Dep{}, Encodings: []string{}},
		{Path: "/items/page/2/", Type: "x", Deps: []bake.Dep{"row:items/1"}, Rows: &bake.RowSpans{At: 120, Lens: []int{31, 40}, Keys: []string{"1", "2"}}},
		{Path: "/", Type: "x", Rows: &bake.RowSpans{}},
		{Path: "/", Type: "x", Rows: &bake.RowSpans{Lens: []int{}, Keys: []string{}}},
		{Path: "/", Type: "x", Rows: &bake.RowSpans{At: 1, Lens: []int{3}, Keys: []string{"é\"\n"}}},
	}
	for _, e := range tests {
		checkEntryLine(t, &e)
	}
}

func FuzzEntryLineAsJSON(f *testing.F) {
	f.Add("/items/item-1/", "ab", int64(10), "text/html", "item", "1", int64(1700000000), int64(5), 0, "br", "row:items/1", "d")
	f.Add("/a\"b/", "", int64(-3), "x", "", "", int64(0), int64(0), 561, "", "", "\u2028")
	f.Fuzz(func(t *testing.T, path, sum string, size int64, typ, route, key string, sec, nsec int64, off int, enc, dep, digest string) {
		e := bake.Entry{Path: path, SHA256: sum, Size: size, Type: typ, Route: route, Key: key, Digest: digest}
		if sec != 0 || nsec != 0 {
			e.LastMod = time.Unix(sec, nsec).In(time.FixedZone("z", off%(48*3600)))
		}
		if enc != "" {
			e.Encodings = []string{enc, enc}
		}
		if dep != "" {
			e.Deps = []bake.Dep{bake.Dep(dep), "table:items"}
		}
		if off%3 == 0 {
			e.Rows = &bake.RowSpans{At: int(size), Lens: []int{off, int(nsec)}, Keys: []string{key, dep}}
		}
		checkEntryLine(t, &e)
	})
}

// BenchmarkEntryLine: a detail page's manifest line, as a build makes it,
// and with json.Encoder (what builds used before).
func BenchmarkEntryLine(b *testing.B) {
	e := bake.Entry{Path: "/items/a-fairly-long-slug-of-an-item-4242/", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Size: 10612, Type: "text/html; charset=utf-8", Route: "item", Key: "4242", LastMod: time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		Deps: []bake.Dep{"row:items/4242", "table:items"}, Digest: "5f2b51ca2fdc5baa31ec02e002f69aec"}
	b.Run("append", func(b *testing.B) {
		var l entryLine
		for b.Loop() {
			l.encode(&e)
		}
	})
	b.Run("json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			enc.Encode(&e)
		}
	})
}
