package output

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
	"github.com/google/go-cmp/cmp"
)

func entryLine(t *testing.T, e bake.Entry) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantSums computes the bucket sums of entries independently of the index.
func wantSums(t *testing.T, es map[string]bake.Entry) []pubformat.Sum {
	t.Helper()
	paths := make([]string, 0, len(es))
	for p := range es {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	lines := make([][]byte, pubformat.Buckets)
	sums := make([]pubformat.Sum, pubformat.Buckets)
	for _, p := range paths {
		b := pubformat.Bucket(p)
		lines[b] = append(lines[b], pubformat.Line(nil, entryLine(t, es[p]))...)
		lines[b] = append(lines[b], '\n')
		sums[b].Files++
	}
	for b := range sums {
		sums[b].Digest = sha256.Sum256(lines[b])
	}
	return sums
}

// TestBucketSums checks the sums a full build writes (its pages added in
// the order they finish rendering, not by path), that a second page at a
// path is refused naming the first, and that an
// incremental update makes the index compute again exactly the buckets it
// touched, keeping the result.
func TestBucketSums(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(IndexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	es := map[string]bake.Entry{}
	for i := range 3000 {
		e := bake.Entry{Path: fmt.Sprintf("/items/%d/", i), SHA256: strings.Repeat("a", 64), Size: int64(i), Type: "text/html; charset=utf-8",
			Route: "item", Key: fmt.Sprint(i), Deps: []bake.Dep{bake.Dep(fmt.Sprintf("row:items/%d", i))}, Digest: "in" + fmt.Sprint(i)}
		es[e.Path] = e
	}
	w, err := NewIndexWriter(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(es))
	for p := range es {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	for _, p := range paths {
		e := es[p]
		if err := w.Add(ctx, &e, entryLine(t, e)); err != nil {
			t.Fatal(err)
		}
	}
	twice := bake.Entry{Path: paths[0], Route: "other", Key: "x", Type: "text/html; charset=utf-8"}
	err = w.Add(ctx, &twice, entryLine(t, twice))
	var dup *DuplicatePathError
	if !errors.As(err, &dup) {
		t.Fatalf("a second page at %s: got %v, want a DuplicatePathError", paths[0], err)
	}
	if want := (DuplicatePathError{Path: paths[0], Route: "item", Key: es[paths[0]].Key}); *dup != want {
		t.Fatalf("a second page at %s: got %+v, want %+v", paths[0], *dup, want)
	}
	if err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	idx, err := OpenIndex(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	check := func(step string) string {
		t.Helper()
		got, gen, err := idx.Buckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantSums(t, es), got); diff != "" {
			t.Fatalf("%s: bucket sums (-want +got):\n%s", step, diff)
		}
		if now, _ := idx.Generation(ctx); now != gen {
			t.Errorf("%s: Buckets says generation %q, the index %q", step, gen, now)
		}
		if err := idx.Check(ctx); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return gen
	}
	lookups := func() (pending, lookup int) {
		t.Helper()
		if err := idx.db.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE name = ?", sumsPending).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if err := idx.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'pages_bucket'").Scan(&lookup); err != nil {
			t.Fatal(err)
		}
		return pending, lookup
	}
	// A full build leaves the sums and their lookup to the first publish.
	if p, l := lookups(); p != 1 || l != 0 {
		t.Errorf("after a full build: sums pending %d, bucket lookups %d; want 1, 0", p, l)
	}
	check("full build")
	if p, l := lookups(); p != 0 || l != 1 {
		t.Errorf("after the first Buckets: sums pending %d, bucket lookups %d; want 0, 1", p, l)
	}
	if plan := queryPlan(t, idx, "SELECT pub FROM pages WHERE bucket = 7 ORDER BY path"); !strings.Contains(plan, "COVERING INDEX pages_bucket") {
		t.Errorf("a bucket's lines are not read through pages_bucket: %s", plan)
	}

	// An update: one page changed, one removed, one added.
	changed := es["/items/7/"]
	changed.SHA256 = strings.Repeat("b", 64)
	added := bake.Entry{Path: "/items/new/", SHA256: strings.Repeat("c", 64), Size: 1, Type: "text/html; charset=utf-8", Route: "item", Key: "new"}
	es[changed.Path], es[added.Path] = changed, added
	delete(es, "/items/8/")
	u := Update{Remove: []string{"/items/8/"}}
	for _, e := range []bake.Entry{changed, added} {
		u.Put = append(u.Put, Record{Entry: e, Line: entryLine(t, e)})
	}
	if err := idx.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	var dirty int
	if err := idx.db.QueryRowContext(ctx, "SELECT count(*) FROM buckets WHERE digest IS NULL").Scan(&dirty); err != nil {
		t.Fatal(err)
	}
	if want := len(map[int]bool{pubformat.Bucket(changed.Path): true, pubformat.Bucket(added.Path): true, pubformat.Bucket("/items/8/"): true}); dirty != want {
		t.Errorf("after the update, %d buckets to compute again, want %d", dirty, want)
	}
	check("update")
	if err := idx.db.QueryRowContext(ctx, "SELECT count(*) FROM buckets WHERE digest IS NULL").Scan(&dirty); err != nil {
		t.Fatal(err)
	}
	if dirty != 0 {
		t.Errorf("after Buckets, %d buckets still to compute; want their sums kept", dirty)
	}
	check("kept sums")

	// BucketLines returns a range's lines in path order, each with its bucket.
	var got []string
	for l, err := range idx.BucketLines(ctx, 0, pubformat.Buckets/2-1) {
		if err != nil {
			t.Fatal(err)
		}
		var e bake.Entry
		if err := json.Unmarshal(l.Line, &e); err != nil {
			t.Fatal(err)
		}
		if b := pubformat.Bucket(e.Path); b != l.Bucket || b >= pubformat.Buckets/2 {
			t.Fatalf("BucketLines: %s in bucket %d, said %d", e.Path, b, l.Bucket)
		}
		if e.Deps != nil || e.Digest != "" {
			t.Fatalf("BucketLines: %s has deps or input: not a published line", e.Path)
		}
		got = append(got, e.Path)
	}
	var want []string
	for _, p := range paths {
		if _, ok := es[p]; ok && pubformat.Bucket(p) < pubformat.Buckets/2 {
			want = append(want, p)
		}
	}
	if pubformat.Bucket(added.Path) < pubformat.Buckets/2 {
		want = append(want, added.Path)
		slices.Sort(want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BucketLines (-want +got):\n%s", diff)
	}
}

// queryPlan returns SQLite's plan of q on the index.
func queryPlan(t *testing.T, idx *Index, q string) string {
	t.Helper()
	rows, err := idx.db.Query("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "; ")
	}
	return b.String()
}

// TestBucketSumsPendingAfterUpdate: an incremental update before the
// first publish after a full build leaves the sums pending, and the
// first Buckets computes them all from the updated pages.
func TestBucketSumsPendingAfterUpdate(t *testing.T) {
	ctx := context.Background()
	es := map[string]bake.Entry{}
	var list []bake.Entry
	for i := range 500 {
		e := bake.Entry{Path: fmt.Sprintf("/p/%d/", i), SHA256: strings.Repeat("a", 64), Size: int64(i), Type: "text/html; charset=utf-8", Route: "item", Key: fmt.Sprint(i)}
		es[e.Path] = e
		list = append(list, e)
	}
	idx := writeTestIndex(t, t.TempDir(), list)
	changed := es["/p/3/"]
	changed.SHA256 = strings.Repeat("d", 64)
	es[changed.Path] = changed
	delete(es, "/p/4/")
	u := Update{Remove: []string{"/p/4/"}, Put: []Record{{Entry: changed, Line: entryLine(t, changed)}}}
	if err := idx.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"first Buckets", "second Buckets"} {
		got, _, err := idx.Buckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantSums(t, es), got); diff != "" {
			t.Fatalf("%s: bucket sums (-want +got):\n%s", step, diff)
		}
		if err := idx.Check(ctx); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
}

// writeTestIndex writes the index of a full build of es, added in this
// order, in build folder dir, and opens it (closed when the test ends).
func writeTestIndex(t *testing.T, dir string, es []bake.Entry) *Index {
	t.Helper()
	return writeTestIndexSets(t, dir, es, 0)
}

// writeTestIndexSets is writeTestIndex with at most maxSets dep sets in
// the index, as it is written and updated (0: the default).
func writeTestIndexSets(t *testing.T, dir string, es []bake.Entry, maxSets int) *Index {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(dir, filepath.FromSlash(IndexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := NewIndexWriter(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	w.maxDepsets = maxSets
	for _, e := range es {
		if err := w.Add(ctx, &e, entryLine(t, e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	idx, err := OpenIndex(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	idx.maxDepsets = maxSets
	t.Cleanup(func() { idx.Close() })
	return idx
}
