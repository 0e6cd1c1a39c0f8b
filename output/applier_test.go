package output

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
)

// listPages returns n list pages of 3 rows each, starting at row first:
// page k shows rows first+k-1 … first+k+1, as a list after inserts does.
func listPages(t *testing.T, n, first int) []Record {
	t.Helper()
	var out []Record
	for k := 1; k <= n; k++ {
		e := bake.Entry{Path: fmt.Sprintf("/items/page/%d/", k), SHA256: fmt.Sprintf("%064d", first*1000+k), Size: 10,
			Type: "text/html; charset=utf-8", Route: "items", Deps: []bake.Dep{"tmpl:list.html"}}
		for r := first + k - 1; r <= first+k+1; r++ {
			e.Deps = append(e.Deps, bake.RowDep("items", fmt.Sprint(r)))
		}
		bake.SortDeps(e.Deps)
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Record{Entry: e, Line: line})
	}
	return out
}

// indexState is what a build reads of an index: every line, and the
// pages of some deps.
func indexState(t *testing.T, idx *Index) map[string]string {
	t.Helper()
	ctx := context.Background()
	got := map[string]string{}
	for e, err := range idx.Outline(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		line, ok, err := idx.Line(ctx, e.Path)
		if err != nil || !ok {
			t.Fatalf("line of %s: %v, %v", e.Path, ok, err)
		}
		got[e.Path] = line
	}
	for r := 0; r < 40; r++ {
		d := bake.RowDep("items", fmt.Sprint(r))
		es, err := idx.ByDep(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			got[string(d)] += " " + e.Path
		}
	}
	trash, err := idx.Trash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got["trash"] = fmt.Sprint(trash)
	v, err := idx.Value(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	got["value k"] = v
	return got
}

// TestApplierInParts: an update put in parts, in any order, while the index
// is read, leaves the index as one Apply of it does; readers see the index
// as it was until Commit; Rollback leaves it as it was.
func TestApplierInParts(t *testing.T) {
	ctx := context.Background()
	first := listPages(t, 12, 1)
	next := listPages(t, 10, 0) // a row inserted at the top: every page shifts, two pages go
	update := Update{Put: next, Remove: []string{"/items/page/11/", "/items/page/12/"}, Values: map[string]string{"k": "v2"}}

	whole := writeTestIndex(t, t.TempDir(), nil)
	if err := whole.Apply(ctx, Update{Put: first, Values: map[string]string{"k": "v1"}}); err != nil {
		t.Fatal(err)
	}
	if err := whole.Apply(ctx, update); err != nil {
		t.Fatal(err)
	}
	want := indexState(t, whole)
	if want["value k"] != "v2" || want["trash"] != "[/items/page/11/ /items/page/12/]" || want["row:items/0"] != " /items/page/1/" {
		t.Fatalf("one Apply: value %q, trash %q, pages of row 0 %q", want["value k"], want["trash"], want["row:items/0"])
	}

	for _, tc := range []struct {
		name  string
		parts [][]Record
	}{
		{"one part", [][]Record{next}},
		{"pages one by one, last first", func() (out [][]Record) {
			for i := len(next) - 1; i >= 0; i-- {
				out = append(out, next[i:i+1])
			}
			return out
		}()},
		{"three parts", [][]Record{next[:3], next[3:7], next[7:]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := writeTestIndex(t, t.TempDir(), nil)
			if err := idx.Apply(ctx, Update{Put: first, Values: map[string]string{"k": "v1"}}); err != nil {
				t.Fatal(err)
			}
			before := indexState(t, idx)
			a, err := idx.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Rollback()
			for _, p := range tc.parts {
				if err := a.Put(ctx, p); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(before, indexState(t, idx)); diff != "" {
					t.Fatalf("read during the update (-before +got):\n%s", diff)
				}
			}
			if err := a.Remove(ctx, update.Remove); err != nil {
				t.Fatal(err)
			}
			if err := a.Commit(ctx, update.Values); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, indexState(t, idx)); diff != "" {
				t.Errorf("after Commit (-one Apply +in parts):\n%s", diff)
			}
			if err := a.Commit(ctx, nil); err == nil {
				t.Error("a second Commit succeeded")
			}
		})
	}

	t.Run("rollback", func(t *testing.T) {
		idx := writeTestIndex(t, t.TempDir(), nil)
		if err := idx.Apply(ctx, Update{Put: first, Values: map[string]string{"k": "v1"}}); err != nil {
			t.Fatal(err)
		}
		before := indexState(t, idx)
		gen, err := idx.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a, err := idx.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Put(ctx, next); err != nil {
			t.Fatal(err)
		}
		if err := a.Remove(ctx, update.Remove); err != nil {
			t.Fatal(err)
		}
		a.Rollback()
		a.Rollback() // twice is harmless
		if diff := cmp.Diff(before, indexState(t, idx)); diff != "" {
			t.Errorf("after Rollback (-before +got):\n%s", diff)
		}
		if g, err := idx.Generation(ctx); err != nil || g != gen {
			t.Errorf("generation after Rollback: %q, %v; want %q", g, err, gen)
		}
		// The index takes the next update.
		if err := idx.Apply(ctx, update); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, indexState(t, idx)); diff != "" {
			t.Errorf("Apply after a Rollback (-want +got):\n%s", diff)
		}
	})
}

// TestApplyValues: an update's values replace the stored ones, those
// unchanged, changed, new and gone alike.
func TestApplyValues(t *testing.T) {
	ctx := context.Background()
	idx := writeTestIndex(t, t.TempDir(), nil)
	steps := []map[string]string{
		{"same": "1", "changed": "a", "gone": "x"},
		{"same": "1", "changed": "b", "new": "n"},
		{"same": "1"},
		nil, // an update without values keeps them
	}
	want := map[string]string{}
	for i, values := range steps {
		if err := idx.Apply(ctx, Update{Values: values}); err != nil {
			t.Fatal(err)
		}
		if values != nil {
			want = values
		}
		for _, k := range []string{"same", "changed", "gone", "new"} {
			got, err := idx.Value(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if got != want[k] {
				t.Errorf("step %d: value %s = %q, want %q", i, k, got, want[k])
			}
		}
	}
}
