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

// blogFeedRoute is the RSS route of the blog fixture, less its kind.
const blogFeedRoute = `path = "/feed.xml"
query = "SELECT id, slug, title, body, published_at FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3"
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`

// feedRoute is blogFeedRoute with another query (and its columns).
func feedRoute(query, more string) string {
	return `path = "/feed.xml"
query = "` + query + `"` + more + `
link = "/posts/{slug}/"
date = "published_at"
columns = { title = "title", content = "body" }`
}

// updated is the change capture records for an update of post id.
func updated(id int, cols ...string) bake.Change {
	return bake.Change{Dep: bake.RowDep("posts", fmt.Sprint(id)), Op: bake.OpUpdate, Columns: cols}
}

// newestPosts adds posts 11..20, the newest of the blog (2030).
func newestPosts(o *oracle) {
	o.addPosts(11, 20, 1)
	for id := 11; id <= 20; id++ {
		o.exec("UPDATE posts SET published_at = ? WHERE id = ?", fmt.Sprintf("2030-01-%02d 00:00:00", id), id)
	}
}

func olderPosts(o *oracle) { o.addPosts(11, 20, 1) }

// TestUpdateShortcutsStayCorrect: updates that must not take a shortcut.
// Each case changes a route of the blog fixture so that a shortcut of an
// update could miss a change (a feed or list ordered or filtered through
// an alias or a column's position, a key column named in another case, a
// join hidden behind a comment), and checks after every step that the
// update equals a full build. Found by a review of the feed and list
// shortcuts: all but two failed before their fixes (the plain comma join,
// and the feed key as ID without an order_by, are there for contrast).
func TestUpdateShortcutsStayCorrect(t *testing.T) {
	t.Parallel()
	type step struct {
		sql    string
		change bake.Change
	}
	both, sqliteOnly := []string{sqlsite.SQLite, sqlsite.Postgres}, []string{sqlsite.SQLite}
	titleOf19 := []step{{"UPDATE posts SET title = 'Renamed 19' WHERE id = 19", updated(19, "title")}}
	joinQuery := "SELECT p.id, p.slug, n.title, p.tag, p.published_at FROM posts p%s, posts n WHERE p.published AND n.id = p.id + 1"
	tests := []struct {
		name     string
		dialects []string
		old, new string // route text replaced in bake.toml
		seed     func(*oracle)
		steps    []step
	}{
		{"feed ordered by an alias", both, blogFeedRoute,
			strings.Replace(feedRoute("SELECT id, slug, title AS headline, body, published_at FROM posts WHERE published ORDER BY headline, id LIMIT 3", ""), `title = "title"`, `title = "headline"`, 1),
			newestPosts, []step{{"UPDATE posts SET title = 'AAA first' WHERE id = 15", updated(15, "title")}}},
		{"feed filtered by an alias", sqliteOnly, blogFeedRoute,
			feedRoute("SELECT id, slug, title, body, published_at, published AS live FROM posts WHERE live ORDER BY published_at DESC, id DESC LIMIT 3", ""),
			newestPosts, []step{
				{"UPDATE posts SET published = FALSE WHERE id = 3", updated(3, "published")},   // not shown
				{"UPDATE posts SET published = FALSE WHERE id = 20", updated(20, "published")}, // shown
				{"UPDATE posts SET published = TRUE WHERE id = 3", updated(3, "published")},
				{"UPDATE posts SET published_at = '2040-01-01' WHERE id = 3", updated(3, "published_at")},
				{"UPDATE posts SET published = TRUE WHERE id = 20", updated(20, "published")}, // back in the top 3
			}},
		{"feed ordered by a position", both, blogFeedRoute,
			feedRoute("SELECT id, slug, title, body, published_at FROM posts WHERE published ORDER BY 3, id LIMIT 3", ""),
			newestPosts, []step{{"UPDATE posts SET title = 'AAA' WHERE id = 12", updated(12, "title")}}},
		{"feed key selected as ID", both, blogFeedRoute,
			feedRoute("SELECT ID, slug, title, body, published_at FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3", ""),
			newestPosts, titleOf19},
		{"feed key selected as ID, with an order_by", both, blogFeedRoute,
			feedRoute("SELECT ID, slug, title, body, published_at FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 3", "\norder_by = \"published_at DESC\""),
			newestPosts, titleOf19},
		{"list key selected as ID", sqliteOnly, recentRoute,
			"path = \"/recent/\"\nquery = \"SELECT ID, slug, title, tag, published_at FROM posts WHERE published\"\norder_by = \"published_at DESC, id DESC\"",
			olderPosts, titleOf19},
		{"list of a comma join", both, recentRoute,
			"path = \"/recent/\"\nquery = \"" + fmt.Sprintf(joinQuery, "") + "\"\norder_by = \"published_at DESC, id DESC\"",
			olderPosts, []step{{"UPDATE posts SET title = 'Renamed 15' WHERE id = 15", updated(15, "title")}}},
		{"list of a comma join after a comment", both, recentRoute,
			"path = \"/recent/\"\nquery = \"" + fmt.Sprintf(joinQuery, " /* where */") + "\"\norder_by = \"published_at DESC, id DESC\"",
			olderPosts, []step{{"UPDATE posts SET title = 'Renamed 15' WHERE id = 15", updated(15, "title")}}},
	}
	for _, tt := range tests {
		for _, dialect := range tt.dialects {
			t.Run(tt.name+"/"+dialect, func(t *testing.T) {
				ctx := context.Background()
				dir, _ := extract(t, "testdata/sites/blog.txtar")
				toml := filepath.Join(dir, "bake.toml")
				b, err := os.ReadFile(toml)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), tt.old) {
					t.Fatalf("the blog fixture changed: %q is not in its bake.toml", tt.old)
				}
				if err := os.WriteFile(toml, []byte(strings.Replace(string(b), tt.old, tt.new, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
				tt.seed(o)
				out := o.out("inc")
				o.full(out)
				for i, s := range tt.steps {
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
}
