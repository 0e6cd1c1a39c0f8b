package output

import (
	"encoding/json"
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
