package sqlsite_test

// Updates that must not take a shortcut: each case changes a row of the
// blog fixture in a way a shortcut of an update could miss (a feed or list
// ordered or filtered through an alias or a column's position, a key
// column named in another case, a join hidden behind a comment), and
// checks after every step that the update equals a full build. Found by a
// review of the feed and list shortcuts.

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

const blogFeedRoute = `kind = "feed"
path = "/feed.xml"
query = "SELECT id, slug, title, body, published_at FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`

type shortcutStep struct {
	sql    string
	change bake.Change
}

func updated(id int, cols ...string) bake.Change {
	return bake.Change{Dep: bake.RowDep("posts", fmt.Sprint(id)), Op: bake.OpUpdate, Columns: cols}
}

func runShortcutCase(t *testing.T, dialects []string, replace func(string) string, seed func(o *oracle), steps []shortcutStep) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dir, _ := extract(t, "testdata/sites/blog.txtar")
			toml := filepath.Join(dir, "bake.toml")
			b, err := os.ReadFile(toml)
			if err != nil {
				t.Fatal(err)
			}
			nb := replace(string(b))
			if nb == string(b) {
				t.Fatal("the blog fixture changed: the route to replace is not in its bake.toml")
			}
			if err := os.WriteFile(toml, []byte(nb), 0o644); err != nil {
				t.Fatal(err)
			}
			o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
			seed(o)
			out := o.out("inc")
			o.full(out)
			for i, s := range steps {
				o.step = i + 1
				o.exec(s.sql)
				if _, err := build.Update(ctx, o.site(), []bake.Change{s.change}, build.Options{Output: out}); err != nil {
					t.Fatal(err)
				}
				o.full(o.out("full"))
				o.compare(s.sql)
			}
		})
	}
}

var sqliteAndPostgres = []string{sqlsite.SQLite, sqlsite.Postgres}

func newestPosts(o *oracle) {
	o.addPosts(11, 20, 1)
	for id := 11; id <= 20; id++ {
		o.exec("UPDATE posts SET published_at = ? WHERE id = ?", fmt.Sprintf("2030-01-%02d 00:00:00", id), id)
	}
}

// A feed ordered by an alias of its title column.
func TestUpdateFeedOrderedByAlias(t *testing.T) {
	runShortcutCase(t, sqliteAndPostgres, func(s string) string {
		return strings.Replace(s, blogFeedRoute, `kind = "feed"
path = "/feed.xml"
query = "SELECT id, slug, title AS headline, body, published_at FROM posts WHERE published ORDER BY headline, id LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "headline", content = "body" }`, 1)
	}, newestPosts, []shortcutStep{
		{"UPDATE posts SET title = 'AAA first' WHERE id = 15", updated(15, "title")},
	})
}

// SQLite: WHERE on a select alias.
func TestUpdateFeedFilteredByAlias(t *testing.T) {
	runShortcutCase(t, []string{sqlsite.SQLite}, func(s string) string {
		return strings.Replace(s, blogFeedRoute, `kind = "feed"
path = "/feed.xml"
query = "SELECT id, slug, title, body, published_at, published AS live FROM posts WHERE live ORDER BY published_at DESC, id DESC LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`, 1)
	}, newestPosts, []shortcutStep{
		{"UPDATE posts SET published = FALSE WHERE id = 3", updated(3, "published")},   // not shown: no-op
		{"UPDATE posts SET published = FALSE WHERE id = 20", updated(20, "published")}, // shown: rerun
		{"UPDATE posts SET published = TRUE WHERE id = 3", updated(3, "published")},    // still not in top 3
		{"UPDATE posts SET published_at = '2040-01-01' WHERE id = 3", updated(3, "published_at")},
		{"UPDATE posts SET published = TRUE WHERE id = 20", updated(20, "published")}, // 20 joins the top 3 again
	})
}

// SQLite: the key column selected as ID (key "id"): selectsKey says yes,
// but the rows carry "ID", so the feed records no row deps.
func TestUpdateFeedKeyInOtherCase(t *testing.T) {
	runShortcutCase(t, sqliteAndPostgres, func(s string) string {
		return strings.Replace(s, blogFeedRoute, `kind = "feed"
path = "/feed.xml"
query = "SELECT ID, slug, title, body, published_at FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`, 1)
	}, newestPosts, []shortcutStep{
		{"UPDATE posts SET title = 'Renamed 19' WHERE id = 19", updated(19, "title")},
	})
}

// The same for a list (pre-existing?): content-only path finds no pages.
func TestUpdateListKeyInOtherCase(t *testing.T) {
	runShortcutCase(t, []string{sqlsite.SQLite}, func(s string) string {
		return strings.Replace(s, recentRoute, `path = "/recent/"
query = "SELECT ID, slug, title, tag, published_at FROM posts WHERE published"
order_by = "published_at DESC, id DESC"`, 1)
	}, func(o *oracle) { o.addPosts(11, 20, 1) }, []shortcutStep{
		{"UPDATE posts SET title = 'Renamed 19' WHERE id = 19", updated(19, "title")},
	})
}

// SQLite: a feed with an order_by wraps its query; the rows then carry "ID".
func TestUpdateFeedKeyCaseWithOrderBy(t *testing.T) {
	runShortcutCase(t, sqliteAndPostgres, func(s string) string {
		return strings.Replace(s, blogFeedRoute, `kind = "feed"
path = "/feed.xml"
query = "SELECT ID, slug, title, body, published_at FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3"
order_by = "published_at DESC"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`, 1)
	}, newestPosts, []shortcutStep{
		{"UPDATE posts SET title = 'Renamed 19' WHERE id = 19", updated(19, "title")},
	})
}

// SQLite: SELECT * of a table whose key column is declared ID.
func TestUpdateFeedStarKeyInOtherCase(t *testing.T) {
	runShortcutCase(t, []string{sqlsite.SQLite}, func(s string) string {
		s = strings.Replace(s, "  id INTEGER PRIMARY KEY,\n  slug", "  ID INTEGER PRIMARY KEY,\n  slug", 1)
		return strings.Replace(s, blogFeedRoute, `kind = "feed"
path = "/feed.xml"
query = "SELECT * FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`, 1)
	}, newestPosts, []shortcutStep{
		{"UPDATE posts SET title = 'Renamed 19' WHERE id = 19", updated(19, "title")},
	})
}

// ORDER BY a column's position.
func TestUpdateFeedOrderedByPosition(t *testing.T) {
	runShortcutCase(t, sqliteAndPostgres, func(s string) string {
		return strings.Replace(s, blogFeedRoute, `kind = "feed"
path = "/feed.xml"
query = "SELECT id, slug, title, body, published_at FROM posts WHERE published ORDER BY 3, id LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`, 1)
	}, newestPosts, []shortcutStep{
		{"UPDATE posts SET title = 'AAA' WHERE id = 12", updated(12, "title")},
	})
}

// A comma join with a clause word in a comment before the comma: rowLocal
// now says yes.
func TestUpdateListCommaJoinAfterComment(t *testing.T) {
	for _, q := range []string{
		"SELECT p.id, p.slug, n.title, p.tag, p.published_at FROM posts p /* where */, posts n WHERE p.published AND n.id = p.id + 1",
		"SELECT p.id, p.slug, n.title, p.tag, p.published_at FROM posts p, posts n WHERE p.published AND n.id = p.id + 1",
	} {
		t.Run(q[len(q)-60:], func(t *testing.T) {
			runShortcutCase(t, sqliteAndPostgres, func(s string) string {
				return strings.Replace(s, recentRoute, `path = "/recent/"
query = "`+q+`"
order_by = "published_at DESC, id DESC"`, 1)
			}, func(o *oracle) { o.addPosts(11, 20, 1) }, []shortcutStep{
				{"UPDATE posts SET title = 'Renamed 15' WHERE id = 15", updated(15, "title")},
			})
		})
	}
}
