package sqlsite_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// TestUpdateFeedOnlyWhenShown: the blog fixture's feeds show the 3 newest
// posts (LIMIT 3, ordered by date then key). An update to a column that
// decides neither which posts nor their order (the title) makes a feed
// again only if it shows that post; a new date, an unpublished post or a
// change without its columns (bake build --changed) makes it again. Every
// update equals a full build.
func TestUpdateFeedOnlyWhenShown(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dir, _ := extract(t, "testdata/sites/blog.txtar")
			o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
			o.addPosts(11, 20, 1)
			for id := 11; id <= 20; id++ { // 2030-01-11 .. 01-20: 18, 19 and 20 are the newest
				o.exec("UPDATE posts SET published_at = ? WHERE id = ?", fmt.Sprintf("2030-01-%02d 00:00:00", id), id)
			}
			out := o.out("inc")
			o.full(out)
			feeds := []string{"/atom.xml", "/feed.xml"}
			update := func(what string, change bake.Change) []string {
				t.Helper()
				rep, err := build.Update(ctx, o.site(), []bake.Change{change}, build.Options{Output: out, Explain: true})
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				o.full(o.out("full"))
				o.compare(what)
				var made []string
				for _, e := range rep.Explain {
					if slices.Contains(feeds, e.Path) {
						made = append(made, e.Path)
					}
				}
				slices.Sort(made)
				return made
			}
			tests := []struct {
				what, sql string
				change    bake.Change
				feeds     []string
			}{
				{"title of post 12 (not in the feeds)", "UPDATE posts SET title = 'Renamed 12' WHERE id = 12",
					bake.Change{Dep: bake.RowDep("posts", "12"), Op: bake.OpUpdate, Columns: []string{"title"}}, nil},
				{"title of post 19 (in the feeds)", "UPDATE posts SET title = 'Renamed 19' WHERE id = 19",
					bake.Change{Dep: bake.RowDep("posts", "19"), Op: bake.OpUpdate, Columns: []string{"title"}}, feeds},
				{"title of post 13, columns unknown", "UPDATE posts SET title = 'Renamed 13' WHERE id = 13",
					bake.Change{Dep: bake.RowDep("posts", "13")}, feeds},
				{"date of post 14: now the newest", "UPDATE posts SET published_at = '2031-01-01 00:00:00' WHERE id = 14",
					bake.Change{Dep: bake.RowDep("posts", "14"), Op: bake.OpUpdate, Columns: []string{"published_at"}}, feeds},
				{"post 11 unpublished (not in the feeds)", "UPDATE posts SET published = FALSE WHERE id = 11",
					bake.Change{Dep: bake.RowDep("posts", "11"), Op: bake.OpUpdate, Columns: []string{"published"}}, feeds},
			}
			for _, tt := range tests {
				o.exec(tt.sql)
				got := update(tt.what, tt.change)
				if !slices.Equal(got, tt.feeds) {
					t.Errorf("%s: feeds made again %v, want %v", tt.what, got, tt.feeds)
				}
			}
		})
	}
}

// TestUpdateListPageByKeys: a change to a column that decides neither which
// rows a list shows nor their order re-renders the list pages that show the
// row, reading their rows by key (not by skipping, with OFFSET, every row
// of the pages before), in the plain list and in the tag's grouped list.
// Every update equals a full build.
func TestUpdateListPageByKeys(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dir, _ := extract(t, "testdata/sites/blog.txtar")
			o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
			o.addPosts(11, 40, 1)
			out := o.out("inc")
			o.full(out)
			update := func(what string, change bake.Change) int64 {
				t.Helper()
				site := o.site()
				if _, err := build.Update(ctx, site, []bake.Change{change}, build.Options{Output: out}); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				o.full(o.out("full"))
				o.compare(what)
				return statTotals(site)["ListPagesByKey"]
			}
			o.exec("UPDATE posts SET title = 'Renamed 12' WHERE id = 12")
			if n := update("title of post 12", bake.Change{Dep: bake.RowDep("posts", "12"), Op: bake.OpUpdate, Columns: []string{"title"}}); n < 2 {
				t.Errorf("title of post 12: %d list pages read by key, want those of /recent/ and of its tag (2 or more)", n)
			}
		})
	}
}
