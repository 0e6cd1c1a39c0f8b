package sqlsite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// TestUpdateListStartsAtFirstMovedPage: when rows leave a list whose
// template does not show the number of rows, and the list keeps its number
// of pages, an update reads the list from the first page that showed them
// (the rows before are skipped by the query) and still equals a full
// build; a row that joins the list, or a list that loses a page, makes it
// read every row; a row that moves makes it read the list down to the
// last page that row was or is on.
//
// An order_by that does not end with the key ("published_at DESC") gets it
// appended, and the same holds.
func TestUpdateListStartsAtFirstMovedPage(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		for _, order := range []string{"", "published_at DESC"} {
			t.Run(dialect+"/"+order, func(t *testing.T) { testListStart(t, dialect, order, false) })
		}
		t.Run(dialect+"/spliced", func(t *testing.T) { testListStart(t, dialect, "", true) })
	}
}

// addPosts adds published posts first..last in tag news, perDay a day from
// 2020-01-01 on.
func (o *oracle) addPosts(first, last, perDay int) {
	o.t.Helper()
	for id := first; id <= last; id++ {
		o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (?, ?, ?, 'news', 'Body.', TRUE, ?)",
			id, fmt.Sprintf("p%d", id), fmt.Sprintf("Post %d", id), fmt.Sprintf("2020-01-%02d 00:00:00", 1+(id-first)/perDay))
	}
}

// recentRoute is the query and order of the blog fixture's route "recent".
const recentRoute = `path = "/recent/"
query = "SELECT id, slug, title, tag, published_at FROM posts WHERE published"
order_by = "published_at DESC, id DESC"`

// setRecentRoute gives the route "recent" of the blog fixture extracted in
// dir another query and order.
func setRecentRoute(t *testing.T, dir, query, order string) {
	t.Helper()
	toml := filepath.Join(dir, "bake.toml")
	b, err := os.ReadFile(toml)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), recentRoute) {
		t.Fatal("the blog fixture's recent route changed; update recentRoute")
	}
	b = []byte(strings.Replace(string(b), recentRoute, "path = \"/recent/\"\nquery = \""+query+"\"\norder_by = \""+order+"\"", 1))
	if err := os.WriteFile(toml, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// With splice, /recent/'s pages are spliced from the bytes of the last
// build (its template writes its rows through one cacheEach): an update
// reads only the rows that changed, and one row a comparison to place a
// row among the others, unless the number of pages changes. Without, the
// template also shows the number of rows of each page, so that they are
// not spliced.
func testListStart(t *testing.T, dialect, order string, splice bool) {
	ctx := context.Background()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	if order != "" {
		setRecentRoute(t, dir, "SELECT id, slug, title, tag, published_at FROM posts WHERE published", order)
	}
	if !splice {
		tag := filepath.Join(dir, "templates", "tag.html")
		b, err := os.ReadFile(tag)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, tag, strings.Replace(string(b), "<h1>{{.Group}}</h1>", "<h1>{{.Group}} ({{len .Rows}})</h1>", 1))
	}
	o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
	// Posts 11..40, one a day, in the middle of /recent/ (two a page).
	o.addPosts(11, 40, 1)
	query := func(q string) int {
		t.Helper()
		var n int
		if err := o.db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// One fewer row keeps the number of pages when there is an even number.
	if query("SELECT COUNT(*) FROM posts WHERE published")%2 != 0 {
		o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (50, 'p50', 'Post 50', 'news', 'Body.', TRUE, '2019-01-01 00:00:00')")
	}
	out := o.out("inc")
	o.full(out)
	total := query("SELECT COUNT(*) FROM posts WHERE published")
	// Newest first: the rows before post 15, and so its page.
	before := query("SELECT COUNT(*) FROM posts WHERE published AND published_at > '2020-01-05 00:00:00'")
	page := before/2 + 1
	if page < 3 {
		t.Fatalf("post 15 is on page %d of /recent/: nothing to skip", page)
	}

	var site *sqlsite.Site
	update := func(what string, change bake.Change) (rows int64, explain []build.Explained) {
		t.Helper()
		site = o.site()
		rep, err := build.Update(ctx, site, []bake.Change{change}, build.Options{Output: out, Explain: true})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		o.full(o.out("full"))
		o.compare(what)
		return site.Stats()["recent"].Rows.Load(), rep.Explain
	}

	o.exec("UPDATE posts SET published = FALSE WHERE id = 15")
	rows, explain := update("unpublish post 15", bake.Change{Dep: bake.RowDep("posts", "15"), Op: bake.OpUpdate, Columns: []string{"published"}})
	if want := int64(total - 1 - (page-1)*2); splice && rows != 0 || !splice && rows != want {
		t.Errorf("unpublish post 15 (page %d, spliced %v): /recent/ read %d rows, want %d (those from page %d on; none spliced)", page, splice, rows, want, page)
	}
	written := 0
	for _, e := range explain {
		if base, n := sqlsite.ListBase(e.Path); base == "/recent/" {
			if n < page {
				t.Errorf("unpublish post 15: %s, before its page, was %s", e.Path, e.Action)
			}
			if spliced := strings.HasSuffix(e.Reason, "(spliced)"); spliced != splice {
				t.Errorf("unpublish post 15: %s was made for %q; spliced %v, want %v", e.Path, e.Reason, spliced, splice)
			}
			written++
		}
	}
	if written == 0 {
		t.Error("unpublish post 15: no page of /recent/ made again")
	}

	o.exec("DELETE FROM posts WHERE id = 16")
	if rows, _ := update("delete post 16", bake.Change{Dep: bake.RowDep("posts", "16"), Op: bake.OpDelete}); rows != int64(total-2) {
		t.Errorf("delete post 16: /recent/ read %d rows, want all %d (a page fewer)", rows, total-2)
	}
	o.exec("UPDATE posts SET published = TRUE WHERE id = 15")
	if rows, _ := update("publish post 15 again", bake.Change{Dep: bake.RowDep("posts", "15"), Op: bake.OpUpdate, Columns: []string{"published"}}); rows != int64(total-1) && !(splice && rows == int64(total)) {
		t.Errorf("publish post 15 again: /recent/ read %d rows, want all %d (and the row, spliced: a page more)", rows, total-1)
	}
	// A row that moves (a newer date sends it to the top) leaves the rows
	// of the list as they were: the query stops after the last page it was
	// on, once it has seen it at its new place.
	total = query("SELECT COUNT(*) FROM posts WHERE published")
	before = query("SELECT COUNT(*) FROM posts WHERE published AND published_at > '2020-01-10 00:00:00'")
	page = before/2 + 1
	o.exec("UPDATE posts SET published_at = '2030-01-01 00:00:00' WHERE id = 20")
	if rows, _ := update("redate post 20 to the top", bake.Change{Dep: bake.RowDep("posts", "20"), Op: bake.OpUpdate, Columns: []string{"published_at"}}); splice && rows != 2 || !splice && rows != int64(2*page) || 2*page >= total {
		t.Errorf("redate post 20 (page %d of %d rows, spliced %v): /recent/ read %d rows, want %d (2 spliced: the row, and the first it comes before)", page, total, splice, rows, 2*page)
	}
	// Sent further down, it is seen at its new place after its old one;
	// spliced, it is placed by a binary search.
	o.exec("UPDATE posts SET published_at = '2020-01-02 12:00:00' WHERE id = 20")
	page = query("SELECT COUNT(*) FROM posts WHERE published AND id <> 20 AND published_at > '2020-01-02 12:00:00'")/2 + 1
	if rows, _ := update("redate post 20 down", bake.Change{Dep: bake.RowDep("posts", "20"), Op: bake.OpUpdate, Columns: []string{"published_at"}}); splice && rows > 8 || !splice && rows != int64(2*page) || rows >= int64(total) {
		t.Errorf("redate post 20 down to page %d (spliced %v): /recent/ read %d rows of %d, want %d (at most 8 spliced)", page, splice, rows, total, 2*page)
	}
	if got := site.Stats()["recent"].ListPagesSpliced.Load(); splice != (got > 0) {
		t.Errorf("redate post 20 down: %d pages spliced, want some only when spliced (%v)", got, splice)
	}
	o.exec("DELETE FROM posts WHERE id = 50 OR NOT published")
	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (60, 'p60', 'Post 60', 'news', 'Body.', FALSE, '2020-01-20 12:00:00')")
	o.full(out)
	o.exec("DELETE FROM posts WHERE id = 60")
	if rows, _ := update("delete unpublished post 60", bake.Change{Dep: bake.RowDep("posts", "60"), Op: bake.OpDelete}); rows != 0 {
		t.Errorf("delete unpublished post 60: /recent/ read %d rows, want none (it was never in the list)", rows)
	}
	if rows := site.Stats()["tag"].Rows.Load(); rows != 0 {
		t.Errorf("delete unpublished post 60: the tag lists read %d rows, want none (it was in no group)", rows)
	}
}

func TestRowLocalAndTotalOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"SELECT id, slug, title FROM items WHERE published = TRUE", true},
		{"SELECT *, lower(title) AS t FROM items", true},
		{"SELECT p.id, o.title FROM posts p LEFT JOIN posts o ON o.id = 11", false},
		{"SELECT id, COUNT(*) OVER () AS n FROM posts", false},
		{"SELECT id, (SELECT title FROM posts o WHERE o.id = p.id - 1) AS prev FROM posts p", false},
		{"SELECT id FROM posts, tags", false},
		{"SELECT DISTINCT tag FROM posts", false},
		{"SELECT id FROM posts WHERE published LIMIT 10", false},
		{"SELECT id FROM a UNION SELECT id FROM b", false},
		{"WITH x AS (SELECT id FROM posts) SELECT id FROM x", false},
		{"not a query", false},
		{"SELECT id FROM posts WHERE published ORDER BY published_at DESC, id", true},
		{"SELECT id FROM posts ORDER BY a, b", true},
		{`SELECT id FROM "order", tags`, false},
		{"SELECT id FROM posts p, tags WHERE p.tag = tags.name ORDER BY a, b", false},
		{"SELECT p.id FROM posts p /* where */, posts n WHERE n.id = p.id + 1", false},
		{"SELECT p.id FROM posts p -- where\n, posts n WHERE n.id = p.id + 1", false},
		{"SELECT id FROM posts AS [where], tags", false},
		{"SELECT id FROM posts AS `order`, tags", false},
		{"SELECT id FROM posts /* , tags */ WHERE title <> '-- /*'", true},
	} {
		if got := sqlsite.RowLocal(tc.q); got != tc.want {
			t.Errorf("rowLocal(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
	// A feed's query: row-local but for its limit, and its order.
	for _, tc := range []struct {
		q, order string
		limited  bool
	}{
		{"SELECT id, title FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3", "published_at DESC, id DESC", true},
		{"select id from posts order by id offset 5 fetch first 3 rows only", "id", true},
		{"SELECT id FROM posts LIMIT 3", "", true},
		{"SELECT id FROM posts, tags ORDER BY id LIMIT 3", "id", false},
		{"SELECT id FROM posts WHERE id IN (SELECT post FROM likes ORDER BY n LIMIT 3) ORDER BY id", "", false},
		{"SELECT DISTINCT tag FROM posts ORDER BY tag LIMIT 3", "tag", false},
		{"SELECT id FROM posts ORDER BY d DESC /* , id */ LIMIT 3", "d DESC", true},
	} {
		if got := sqlsite.RowLocalLimited(tc.q); got != tc.limited {
			t.Errorf("rowLocalLimited(%q) = %v, want %v", tc.q, got, tc.limited)
		}
		if got := strings.TrimSpace(sqlsite.QueryOrder(tc.q)); tc.limited && got != tc.order {
			t.Errorf("queryOrder(%q) = %q, want %q", tc.q, got, tc.order)
		}
	}
	for _, tc := range []struct {
		order, key string
		want       bool
	}{
		{"updated_at DESC, id DESC", "id", true},
		{"published_at DESC, q.id", "id", true},
		{`date DESC, "ID" ASC NULLS LAST`, "id", true},
		{"published_at DESC", "id", false},
		{"id DESC, published_at", "id", false},
		{"", "id", false},
		{"id", "", false},
	} {
		if got := sqlsite.TotalOrder(tc.order, tc.key); got != tc.want {
			t.Errorf("totalOrder(%q, %q) = %v, want %v", tc.order, tc.key, got, tc.want)
		}
	}
}

// TestUpdateListRowsThatReadOtherRows: a list whose rows read other rows
// (a window function, a self-join) is made again in full when rows change,
// and one whose order has ties is cut the same way by every query (the key
// breaks them); each equals a full build after each step, on SQLite and
// PostgreSQL.
func TestUpdateListRowsThatReadOtherRows(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		for _, tc := range []struct{ name, query, order string }{
			{"window", "SELECT id, slug, title || ' of ' || COUNT(*) OVER () AS title, tag, published_at FROM posts WHERE published", "published_at DESC, id DESC"},
			{"self-join", "SELECT p.id, p.slug, p.title || ' after ' || COALESCE(o.title, '-') AS title, p.tag, p.published_at FROM posts p LEFT JOIN posts o ON o.id = 11 WHERE p.published", "published_at DESC, id DESC"},
			{"ties", "SELECT id, slug, title, tag, published_at FROM posts WHERE published", "published_at DESC"},
			{"no key", "SELECT slug, title, tag, published_at FROM posts WHERE published", "published_at DESC, slug"},
		} {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				dir, _ := extract(t, "testdata/sites/blog.txtar")
				setRecentRoute(t, dir, tc.query, tc.order)
				o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
				o.addPosts(11, 30, 2) // two a day: ties in published_at
				o.full(o.out("inc"))
				for _, step := range []struct {
					what, sql string
					change    bake.Change
				}{
					{"unpublish post 11", "UPDATE posts SET published = FALSE WHERE id = 11", bake.Change{Dep: bake.RowDep("posts", "11"), Op: bake.OpUpdate, Columns: []string{"published"}}},
					{"delete post 12", "DELETE FROM posts WHERE id = 12", bake.Change{Dep: bake.RowDep("posts", "12"), Op: bake.OpDelete}},
					{"redate post 25 to the top", "UPDATE posts SET published_at = '2030-01-01 00:00:00' WHERE id = 25", bake.Change{Dep: bake.RowDep("posts", "25"), Op: bake.OpUpdate, Columns: []string{"published_at"}}},
					{"retitle post 11", "UPDATE posts SET title = 'Renamed' WHERE id = 11", bake.Change{Dep: bake.RowDep("posts", "11"), Op: bake.OpUpdate, Columns: []string{"title"}}},
					{"retitle post 20", "UPDATE posts SET title = 'Renamed too' WHERE id = 20", bake.Change{Dep: bake.RowDep("posts", "20"), Op: bake.OpUpdate, Columns: []string{"title"}}},
				} {
					o.exec(step.sql)
					o.incremental([]bake.Change{step.change}, step.what)
					o.full(o.out("full"))
					o.compare(step.what)
				}
			})
		}
	}
}

// TestUpdateListBatches: several rows leaving, moving and joining a list
// in one build equal a full build.
func TestUpdateListBatches(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir)}
	o.addPosts(11, 40, 1)
	o.full(o.out("inc"))
	upd := func(id string, cols ...string) bake.Change {
		return bake.Change{Dep: bake.RowDep("posts", id), Op: bake.OpUpdate, Columns: cols}
	}
	for _, step := range []struct {
		what    string
		sql     []string
		changes []bake.Change
	}{
		{"two rows leave", []string{"UPDATE posts SET published = FALSE WHERE id IN (15, 30)"}, []bake.Change{upd("15", "published"), upd("30", "published")}},
		{"two rows move, one retitled", []string{"UPDATE posts SET published_at = '2030-01-01 00:00:00' WHERE id = 20", "UPDATE posts SET published_at = '2019-01-01 00:00:00' WHERE id = 35", "UPDATE posts SET title = 'Renamed' WHERE id = 38"},
			[]bake.Change{upd("20", "published_at"), upd("35", "published_at"), upd("38", "title")}},
		{"one leaves, one moves", []string{"DELETE FROM posts WHERE id = 21", "UPDATE posts SET published_at = '2031-01-01 00:00:00' WHERE id = 33"},
			[]bake.Change{{Dep: bake.RowDep("posts", "21"), Op: bake.OpDelete}, upd("33", "published_at")}},
		{"one joins, one leaves", []string{"UPDATE posts SET published = TRUE WHERE id = 15", "UPDATE posts SET published = FALSE WHERE id = 25"}, []bake.Change{upd("15", "published"), upd("25", "published")}},
	} {
		for _, q := range step.sql {
			o.exec(q)
		}
		o.incremental(step.changes, step.what)
		o.full(o.out("full"))
		o.compare(step.what)
	}
}
