package output

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
)

// TestApplyColumns: a page put again at its path keeps its columns right
// whether only its lines change (the short UPDATE) or its route, key,
// type, redirect, lastmod or deps do too.
func TestApplyColumns(t *testing.T) {
	ctx := context.Background()
	idx := writeTestIndex(t, t.TempDir(), nil)
	t1 := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	base := bake.Entry{Path: "/a/", SHA256: "01", Size: 1, Type: "text/html; charset=utf-8", Route: "list", Key: "",
		Deps: []bake.Dep{"row:items/1", "tmpl:list.html"}, LastMod: t1}
	steps := []func(e *bake.Entry){
		func(e *bake.Entry) {},
		func(e *bake.Entry) { e.SHA256, e.Deps = "02", []bake.Dep{"row:items/2", "tmpl:list.html"} }, // lines and deps
		func(e *bake.Entry) { e.SHA256 = "03"; e.LastMod = t1.Add(time.Hour) },
		func(e *bake.Entry) { e.SHA256 = "04"; e.LastMod = time.Time{} },
		func(e *bake.Entry) { e.SHA256 = "05"; e.Route, e.Key = "item", "7" },
		func(e *bake.Entry) { e.SHA256 = "06"; e.Type = "application/xml" },
		func(e *bake.Entry) { e.SHA256 = "07"; e.Redirect = "/b/" },
		func(e *bake.Entry) { e.SHA256 = "08"; e.Deps = []bake.Dep{"row:items/2", "tmpl:other.html"} }, // another dep set
	}
	e := base
	for i, step := range steps {
		step(&e)
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Apply(ctx, Update{Put: []Record{{Entry: e, Line: line}}}); err != nil {
			t.Fatal(err)
		}
		var got []bake.Entry
		for o, err := range idx.Outline(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o)
		}
		want := []bake.Entry{{Path: e.Path, Route: e.Route, Key: e.Key, Type: e.Type, Redirect: e.Redirect, LastMod: e.LastMod}}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("step %d: outline (-want +got):\n%s", i, diff)
		}
		paths, err := idx.Paths(ctx, e.Route, e.Key)
		if err != nil || len(paths) != 1 {
			t.Errorf("step %d: paths of %s/%s: %v, %v", i, e.Route, e.Key, paths, err)
		}
		for _, d := range e.Deps {
			byDep, err := idx.ByDep(ctx, d)
			if err != nil || len(byDep) != 1 {
				t.Errorf("step %d: pages of %s: %d, %v", i, d, len(byDep), err)
			}
		}
	}
}

// TestApplySamePathTwice: a path removed and put in one update, or put
// twice, ends as the last put says.
func TestApplySamePathTwice(t *testing.T) {
	ctx := context.Background()
	idx := writeTestIndex(t, t.TempDir(), nil)
	rec := func(path, sha string, deps ...bake.Dep) Record {
		e := bake.Entry{Path: path, SHA256: sha, Size: 1, Type: "text/html; charset=utf-8", Route: "list", Deps: deps}
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return Record{Entry: e, Line: line}
	}
	for i, u := range []Update{
		{Put: []Record{rec("/a/", "01", "row:items/1"), rec("/b/", "01", "row:items/2")}},
		{Remove: []string{"/a/"}, Put: []Record{rec("/a/", "02", "row:items/3")}},
		{Put: []Record{rec("/b/", "02", "row:items/4"), rec("/b/", "03", "row:items/5"), rec("/c/", "01"), rec("/c/", "02", "row:items/6")}},
	} {
		if err := idx.Apply(ctx, u); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	for path, want := range map[string]struct {
		sha string
		dep bake.Dep
	}{"/a/": {"02", "row:items/3"}, "/b/": {"03", "row:items/5"}, "/c/": {"02", "row:items/6"}} {
		e, ok, err := idx.Lookup(ctx, path)
		if err != nil || !ok || e.SHA256 != want.sha {
			t.Errorf("%s: %+v, %v, %v; want sha %s", path, e, ok, err, want.sha)
		}
		byDep, err := idx.ByDep(ctx, want.dep)
		if err != nil || len(byDep) != 1 || byDep[0].Path != path {
			t.Errorf("pages of %s: %v, %v; want %s", want.dep, byDep, err, path)
		}
	}
	for _, gone := range []bake.Dep{"row:items/1", "row:items/2", "row:items/4"} {
		if byDep, err := idx.ByDep(ctx, gone); err != nil || len(byDep) != 0 {
			t.Errorf("pages of %s: %v, %v; want none", gone, byDep, err)
		}
	}
}
