package sqlsite

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bakehq/bake"
)

// TestSitemapCuts checks the parts of a sitemap: none up to the limit,
// then parts of at most the limit URLs that cover them all in order, about
// a tenth of the limit each, and cut where the URLs are, not by count: a
// URL added or removed changes the part that lists it, and no other,
// unless it starts a part.
func TestSitemapCuts(t *testing.T) {
	t.Parallel()
	const limit = 100
	rng := rand.New(rand.NewPCG(1, 2))
	locs := make([]string, 5000)
	for i := range locs {
		locs[i] = fmt.Sprintf("https://x.example/p/%08d/", rng.IntN(1e8))
	}
	slices.Sort(locs)
	locs = slices.Compact(locs)
	cutsOf := func(locs []string) []int {
		return sitemapCuts(len(locs), limit, func(i int) []byte { return []byte(locs[i]) })
	}
	if c := sitemapCuts(limit, limit, func(int) []byte { t.Fatal("loc read for a sitemap within the limit"); return nil }); c != nil {
		t.Errorf("%d URLs, the limit: cuts %v, want none", limit, c)
	}
	cuts := cutsOf(locs)
	if len(cuts) == 0 || cuts[0] != 0 {
		t.Fatalf("cuts %v: want the first at 0", cuts)
	}
	for i, c := range cuts {
		end := len(locs)
		if i+1 < len(cuts) {
			end = cuts[i+1]
		}
		if end <= c || end-c > limit {
			t.Fatalf("part %d lists URLs %d to %d: want 1 to %d of them", i, c, end, limit)
		}
	}
	if n := len(locs) / len(cuts); n < limit/20 || n > limit/5 {
		t.Errorf("%d parts of %d URLs on average, want about %d", len(cuts), n, limit/10)
	}

	// parts returns the URLs of each part.
	parts := func(locs []string, cuts []int) [][]string {
		var out [][]string
		for i, c := range cuts {
			end := len(locs)
			if i+1 < len(cuts) {
				end = cuts[i+1]
			}
			out = append(out, locs[c:end])
		}
		return out
	}
	before := parts(locs, cuts)
	for try := range 200 {
		at := rng.IntN(len(locs)-2) + 1
		var edited []string
		var loc string
		if try%2 == 0 { // a URL added after at
			loc = locs[at] + "x"
			edited = slices.Insert(slices.Clone(locs), at+1, loc)
		} else { // URL at removed
			loc = locs[at]
			edited = slices.Delete(slices.Clone(locs), at, at+1)
		}
		starts := locHash([]byte(loc))%uint64(max(2, limit/10)) == 0
		after := parts(edited, cutsOf(edited))
		changed := 0
		for _, p := range after {
			if !slices.ContainsFunc(before, func(q []string) bool { return slices.Equal(p, q) }) {
				changed++
			}
		}
		if !starts && (changed != 1 || len(after) != len(before)) {
			t.Fatalf("URL %s, not a part's start, added or removed: %d parts (were %d), %d changed; want one changed", loc, len(after), len(before), changed)
		}
		if starts && changed > 2 {
			t.Fatalf("URL %s, a part's start, added or removed: %d parts changed, want at most 2", loc, changed)
		}
	}
}

// FuzzSitemapLoc checks that the loc read back from a line of a sitemap
// file is the one a full build cuts the sitemap by: the page's URL,
// escaped, whatever its path and lastmod.
func FuzzSitemapLoc(f *testing.F) {
	f.Add("/posts/café-&-\"q\"/", int64(1700000000))
	f.Add("/a/</loc></url>/", int64(0))
	f.Add("/", int64(-62135596800))
	f.Add("/x/", int64(253402300800))
	f.Fuzz(func(t *testing.T, path string, lastmod int64) {
		const base = "https://x.example"
		var want bytes.Buffer
		xml.EscapeText(&want, []byte(base+bake.EscapePath(path)))
		line := sitemapLine(base, path, lastmod)
		if got := sitemapLoc(line); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("sitemapLoc(%q) = %q, want %q", line, got, want.Bytes())
		}
	})
}

// BenchmarkSitemapCuts cuts the sitemap of 100,000 pages (the bench
// site's) from its lines, as an update does each time a page comes, goes or
// changes its lastmod.
func BenchmarkSitemapCuts(b *testing.B) {
	lines := make([][]byte, 100000)
	for i := range lines {
		lines[i] = sitemapLine("https://bench.example.org", fmt.Sprintf("/items/item-%d/", i), 1700000000+int64(i))
	}
	for b.Loop() {
		sitemapCuts(len(lines), 50000, func(i int) []byte { return sitemapLoc(lines[i]) })
	}
}
