package sqlsite_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/sqlsite"
)

// TestSpliceAfterUnfinishedUpdate: an update that stopped after moving its
// files into place, before its index had them, leaves the folder marked
// pending. The next update must not splice list pages from files that may
// not be those the index describes; it renders them, and the folder equals
// a full build again, unmarked.
func TestSpliceAfterUnfinishedUpdate(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir)}
	o.addPosts(11, 40, 1)
	out := o.out("inc")
	o.full(out)
	update := func(what string, changes ...bake.Change) *sqlsite.Site {
		t.Helper()
		site := o.incremental(changes, what)
		o.full(o.out("full"))
		o.compare(what)
		return site
	}
	// Spliced when nothing is pending (two posts keep the number of pages).
	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (41, 'p41', 'Post 41', 'news', 'Body.', TRUE, '2021-01-01 00:00:00'), (42, 'p42', 'Post 42', 'news', 'Body.', TRUE, '2021-01-02 00:00:00')")
	site := update("insert two newest posts", bake.Change{Dep: bake.RowDep("posts", "41"), Op: bake.OpInsert})
	site = update("and the second", bake.Change{Dep: bake.RowDep("posts", "42"), Op: bake.OpInsert})
	if n := site.Stats()["recent"].ListPagesSpliced.Load(); n == 0 {
		t.Fatal("nothing pending: no page of /recent/ spliced")
	}

	// An update stopped between its files and its index: a page of
	// /recent/ has other bytes of the same length than its entry says.
	page := filepath.Join(out, "recent", "page", "3", "index.html")
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("Post "))
	if i < 0 {
		t.Fatalf("no post on %s", page)
	}
	b[i] = 'X'
	if err := os.WriteFile(page, b, 0o644); err != nil {
		t.Fatal(err)
	}
	pending := filepath.Join(out, ".bake", "update-pending")
	if err := os.WriteFile(pending, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A newest post in, the oldest out: as many pages, every row shifted.
	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (43, 'p43', 'Post 43', 'news', 'Body.', TRUE, '2021-01-03 00:00:00')")
	o.exec("UPDATE posts SET published = FALSE WHERE id = 11")
	changes := []bake.Change{{Dep: bake.RowDep("posts", "43"), Op: bake.OpInsert}, {Dep: bake.RowDep("posts", "11"), Op: bake.OpUpdate, Columns: []string{"published"}}}
	site = update("a post in, one out, after an unfinished update", changes...)
	if n := site.Stats()["recent"].ListPagesSpliced.Load(); n != 0 {
		t.Errorf("an update pending: %d pages of /recent/ spliced from files the index may not describe", n)
	}
	if _, err := os.Stat(pending); err == nil {
		t.Error("the pending mark is still there after an update that finished")
	}
}
