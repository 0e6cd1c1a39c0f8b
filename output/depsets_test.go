package output

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
)

// TestDepsets: the deps pages share are stored once per set, the rest a
// row each, and every dep still finds its pages, after a full build and
// after updates that move pages between sets, past the most sets an index
// holds, and remove a set's last page.
func TestDepsets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	entry := func(route string, i int, deps ...bake.Dep) bake.Entry {
		return bake.Entry{Path: fmt.Sprintf("/%s/%d/", route, i), Route: route, Key: fmt.Sprint(i), Type: "text/html; charset=utf-8",
			Deps: bake.SortDeps(append(deps, bake.RowDep("items", fmt.Sprint(i))))}
	}
	es := map[string]bake.Entry{}
	put := func(e bake.Entry) { es[e.Path] = e }
	for i := range 5 {
		put(entry("a", i, "tmpl:a.html", "asset:css/site.css", "query:categories"))
		put(entry("b", i, "tmpl:b.html", "asset:css/site.css"))
		put(entry("c", i))                               // row deps only: no set
		put(entry("d", i, "tmpl:d.html", "table:items")) // a third set: past the most
	}
	var list []bake.Entry
	for _, path := range slices.Sorted(maps.Keys(es)) {
		list = append(list, es[path])
	}
	idx := writeTestIndexSets(t, dir, list, 2)

	count := func(q string) int {
		t.Helper()
		var n int
		if err := idx.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// byDep is what ByDep must return: the paths of es with dep, sorted.
	byDep := func(dep bake.Dep) []string {
		var out []string
		for path, e := range es {
			if slices.Contains(e.Deps, dep) {
				out = append(out, path)
			}
		}
		slices.Sort(out)
		return out
	}
	check := func(step string) {
		t.Helper()
		if err := idx.Check(ctx); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		deps := map[bake.Dep]bool{}
		for _, e := range es {
			for _, d := range e.Deps {
				deps[d] = true
			}
		}
		deps["tmpl:gone.html"] = true
		for d := range deps {
			got, err := idx.ByDep(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, e := range got {
				paths = append(paths, e.Path)
			}
			if diff := cmp.Diff(byDep(d), paths); diff != "" {
				t.Errorf("%s: ByDep(%s) (-want +got):\n%s", step, d, diff)
			}
		}
	}
	check("full build")
	// Sets a and b; d's pages, past the most, keep all their deps as rows.
	if got, want := count("SELECT count(*) FROM depsets"), 2; got != want {
		t.Errorf("%d dep sets, want %d", got, want)
	}
	if got, want := count("SELECT count(*) FROM deps"), 20+5*2; got != want {
		t.Errorf("%d dep rows, want %d (a row dep a page, and d's other two)", got, want)
	}

	// An update: a's page 0 now reads what b's pages read; every b page
	// but one is removed; d's page 0 has a's deps; a new page has no set.
	u := Update{}
	putRec := func(e bake.Entry) {
		put(e)
		u.Put = append(u.Put, Record{Entry: e, Line: entryLine(t, e)})
	}
	putRec(entry("a", 0, "tmpl:b.html", "asset:css/site.css"))
	putRec(entry("d", 0, "tmpl:a.html", "asset:css/site.css", "query:categories"))
	putRec(entry("e", 9, "tmpl:e.html")) // a third set again: kept as rows
	for i := 1; i < 5; i++ {
		path := fmt.Sprintf("/b/%d/", i)
		delete(es, path)
		u.Remove = append(u.Remove, path)
	}
	if err := idx.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	check("update")

	// The last pages of set b go: the set goes with them, and a new one
	// takes its place.
	u = Update{Remove: []string{"/a/0/", "/b/0/"}}
	delete(es, "/a/0/")
	delete(es, "/b/0/")
	putRec(entry("f", 1, "tmpl:f.html"))
	if err := idx.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	check("set emptied")
	if got := count("SELECT count(*) FROM depsets WHERE deps LIKE '%tmpl:b.html%'"); got != 0 {
		t.Errorf("set b is still stored, with no page")
	}
	if got := count("SELECT count(*) FROM pages WHERE depset != 0 AND depset NOT IN (SELECT id FROM depsets)"); got != 0 {
		t.Errorf("%d pages name a set that is not stored", got)
	}
}

// TestDepsetsAfterHoles: the most sets an index holds counts the sets
// there are, not the highest id: a set dropped below the highest leaves
// room for a new one.
func TestDepsetsAfterHoles(t *testing.T) {
	ctx := context.Background()
	entry := func(path string, deps ...bake.Dep) bake.Entry {
		return bake.Entry{Path: path, Route: "r", Type: "text/html; charset=utf-8", Deps: bake.SortDeps(deps)}
	}
	idx := writeTestIndexSets(t, t.TempDir(), []bake.Entry{entry("/a/", "tmpl:a.html"), entry("/b/", "tmpl:b.html")}, 2)
	// Set 1 (a) goes; set 2 (b) stays: c's deps make a set again.
	c := entry("/c/", "tmpl:c.html")
	if err := idx.Apply(ctx, Update{Remove: []string{"/a/"}, Put: []Record{{Entry: c, Line: entryLine(t, c)}}}); err != nil {
		t.Fatal(err)
	}
	var set int64
	if err := idx.db.QueryRowContext(ctx, "SELECT depset FROM pages WHERE path = '/c/'").Scan(&set); err != nil {
		t.Fatal(err)
	}
	if set == 0 {
		t.Error("no set for /c/ although the index holds one set of two")
	}
	if err := idx.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMapFile: a file of the build comes back whole, mapped or read; a
// path that is no page path is refused.
func TestMapFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	idx := writeTestIndex(t, dir, nil)
	want := strings.Repeat("<url><loc>x</loc></url>\n", 5000)
	if err := os.WriteFile(filepath.Join(dir, "sitemap.xml"), []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	b, unmap, err := idx.MapFile(ctx, "/sitemap.xml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("got %d bytes, want %d", len(b), len(want))
	}
	unmap()
	for _, bad := range []string{"/../outside.xml", "/missing.xml"} {
		if _, _, err := idx.MapFile(ctx, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
