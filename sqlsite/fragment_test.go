package sqlsite_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
)

// TestFragmentCachePersists checks that {{cache "item" .}} fragments are
// kept between builds and found again by key: the stored fragments are
// replaced by a marker, and the next builds show the marker exactly where
// the row and the partial are unchanged.
func TestFragmentCachePersists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir)}
	out := o.out("inc")
	o.full(out)

	cache := filepath.Join(out, filepath.FromSlash(output.FragmentsDir))
	index, err := os.ReadFile(filepath.Join(cache, "index"))
	if err != nil {
		t.Fatal(err)
	}
	// Published posts 1, 2, 4, 5: one "item" fragment each.
	if n := len(index) / output.FragmentRecordSize; n != 4 {
		t.Fatalf("fragment cache holds %d fragments after a full build, want 4 (one per published post)", n)
	}
	// tamper overwrites every stored fragment with a marker, padded with
	// spaces to its length (see output.FragmentsDir for the format).
	tamper := func() {
		t.Helper()
		index, err := os.ReadFile(filepath.Join(cache, "index"))
		if err != nil {
			t.Fatal(err)
		}
		log, _ := os.ReadFile(filepath.Join(cache, "index.log")) // added by incremental builds
		index = append(index, log...)
		data, err := os.OpenFile(filepath.Join(cache, "data"), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer data.Close()
		for r := index; len(r) >= output.FragmentRecordSize; r = r[output.FragmentRecordSize:] {
			off, n := binary.BigEndian.Uint64(r[16:]), binary.BigEndian.Uint32(r[24:])
			marker := "<li>FROM-CACHE</li>"
			if int(n) < len(marker) {
				t.Fatalf("a fragment of %d bytes", n)
			}
			if _, err := data.WriteAt([]byte(marker+strings.Repeat(" ", int(n)-len(marker))), int64(off)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tamper()
	read := func(path string) string {
		t.Helper()
		name, _ := bake.FileName(path)
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// Post 4 changes title: /posts/ (posts 5 and 4) is rendered again, with
	// post 5's fragment from the cache and post 4's made anew.
	o.exec("UPDATE posts SET title = 'Café crème' WHERE id = 4")
	update := func(changes []bake.Change) *build.UpdateReport {
		t.Helper()
		rep, err := build.Update(ctx, o.site(), changes, build.Options{Output: out, Workers: 2})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		return rep
	}
	update([]bake.Change{{Dep: bake.RowDep("posts", "4"), Op: bake.OpUpdate, Columns: []string{"title"}}})
	page := read("/posts/")
	if got := strings.Count(page, "FROM-CACHE"); got != 1 {
		t.Errorf("/posts/ shows %d cached fragments, want 1 (post 5's):\n%s", got, page)
	}
	if !strings.Contains(page, "Café crème") {
		t.Errorf("/posts/ does not show post 4's new title:\n%s", page)
	}

	// A full build reuses the fragments of the build it replaces.
	tamper()
	o.full(out)
	if got := strings.Count(read("/posts/"), "FROM-CACHE"); got != 2 {
		t.Errorf("after a full build /posts/ shows %d cached fragments, want 2", got)
	}

	// Editing the partial gives every fragment a new key.
	tamper()
	o.edit(filepath.Join("templates", "partials", "item.html"), "<!-- edited -->")
	update(nil)
	for _, p := range []string{"/posts/", "/posts/page/2/", "/tags/news/", "/tags/guides/"} {
		if page := read(p); strings.Contains(page, "FROM-CACHE") {
			t.Errorf("%s shows a fragment made with the old partial:\n%s", p, page)
		}
	}
}

// TestUpdateRendersOnlyMovedListPages checks that when a row leaves a list,
// the pages before it (same rows, same pager) are not rendered again: their
// input digests are unchanged.
func TestUpdateRendersOnlyMovedListPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir)}
	// Guides, newest first, two a page: 5, 2 | 7, 6.
	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (6, 'g6', 'Guide six', 'guides', 'Six.', TRUE, '2025-06-01 00:00:00'), (7, 'g7', 'Guide seven', 'guides', 'Seven.', TRUE, '2025-07-01 00:00:00')")
	out := o.out("inc")
	o.full(out)

	o.exec("UPDATE posts SET published = FALSE WHERE id = 6")
	rep, err := build.Update(ctx, o.site(), []bake.Change{{Dep: bake.RowDep("posts", "6"), Op: bake.OpUpdate, Columns: []string{"published"}}},
		build.Options{Output: out, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	acted := map[string]string{}
	for _, e := range rep.Explain {
		acted[e.Path] = e.Action
	}
	if a, ok := acted["/tags/guides/"]; ok {
		t.Errorf("/tags/guides/ (posts 5 and 2, unchanged) was %s; want it skipped", a)
	}
	if acted["/tags/guides/page/2/"] != build.ActionWritten {
		t.Errorf("/tags/guides/page/2/ (7, 6 → 7) was %q; want written", acted["/tags/guides/page/2/"])
	}
	if rep.Skipped == 0 {
		t.Errorf("no page skipped: %+v", rep.Explain)
	}
	o.full(o.out("full"))
	o.compare("unpublish post 6")
}

// TestIncrementalSitemapFromFiles checks that an incremental build that
// adds and removes pages rewrites the sitemap from the last build's
// sitemap files (split in parts here, with escaped URLs), not from the
// index, and still equals a full build; a damaged sitemap file makes it
// read the index instead, with the same result.
func TestIncrementalSitemapFromFiles(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir), sitemapMax: 3}
	o.full(o.out("inc"))
	if _, err := os.Stat(filepath.Join(o.out("inc"), "sitemap-2.xml")); err != nil {
		t.Fatalf("the sitemap is not split in parts: %v", err)
	}
	before := o.stats["SitemapFallbacks"]
	steps := []struct {
		what, sql string
		change    bake.Change
	}{
		{"insert a post with an escaped slug", "INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (40, 'caf\u00e9-&-\"q\"', 'Caf\u00e9', 'notes', 'Body.', TRUE, '2025-09-01 00:00:00')",
			bake.Change{Dep: bake.RowDep("posts", "40"), Op: bake.OpInsert}},
		{"unpublish post 2", "UPDATE posts SET published = FALSE WHERE id = 2",
			bake.Change{Dep: bake.RowDep("posts", "2"), Op: bake.OpUpdate, Columns: []string{"published"}}},
	}
	for _, s := range steps {
		o.exec(s.sql)
		o.incremental([]bake.Change{s.change}, s.what)
		o.full(o.out("full"))
		o.compare(s.what)
	}
	if n := o.stats["SitemapFallbacks"] - before; n != 0 {
		t.Errorf("%d of %d incremental builds read the sitemap's URLs from the index, want none", n, len(steps))
	}

	// Damaged: the part that will list post 2 (a file left as it was
	// would stay damaged: an update writes what it renders only when its
	// bytes differ from the index's entry).
	var slug string
	if err := o.db.QueryRow("SELECT slug FROM posts WHERE id = 2").Scan(&slug); err != nil {
		t.Fatal(err)
	}
	damaged := ""
	for i := 1; ; i++ {
		name := fmt.Sprintf("sitemap-%d.xml", i)
		b, err := os.ReadFile(filepath.Join(o.out("inc"), name))
		if err != nil {
			break
		}
		first := regexp.MustCompile(`<loc>([^<]*)</loc>`).FindSubmatch(b)
		if first == nil {
			t.Fatalf("%s lists no URL", name)
		}
		if string(first[1]) > "https://blog.example/posts/"+slug+"/" {
			break
		}
		damaged = name
	}
	if damaged == "" {
		t.Fatal("no sitemap part to damage")
	}
	if err := os.WriteFile(filepath.Join(o.out("inc"), damaged), []byte("<?xml damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.exec("UPDATE posts SET published = TRUE WHERE id = 2")
	o.incremental([]bake.Change{{Dep: bake.RowDep("posts", "2"), Op: bake.OpUpdate, Columns: []string{"published"}}}, "publish post 2 again")
	o.full(o.out("full"))
	o.compare("publish post 2 again, sitemap damaged")
	if n := o.stats["SitemapFallbacks"] - before; n != 1 {
		t.Errorf("after a damaged sitemap file, %d builds read the index, want 1", n)
	}
}
