package sqlsite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// TestStablePagination: a list with pagination = "stable" counts its pages
// from the oldest; a row unpublished rewrites the one page that held it, a
// row inserted at the top the first page only, until the first page
// reaches 2 × per_page rows and gives up a page (the page below it gets a
// new "newer" link); a backdated row lands on the page whose range covers
// it (from its newest row down to the next page's), which then holds more
// than per_page rows. Each update equals a full
// build; a full build that replaces the build keeps its pages; a build
// into a new folder cuts the pages anew.
func TestStablePagination(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		t.Run(dialect, func(t *testing.T) { testStable(t, dialect) })
	}
}

// stablePosts returns the ids of the posts on each page of /stable/ in
// build folder out, by path.
func stablePosts(t *testing.T, out string) map[string][]string {
	t.Helper()
	ids := regexp.MustCompile(`<a href="/posts/[^"]*">Post (\d+)`)
	got := map[string][]string{}
	for name, text := range files(t, out) {
		if !strings.HasPrefix(name, "stable/") {
			continue
		}
		path := "/" + strings.TrimSuffix(name, "index.html")
		got[path] = []string{}
		for _, m := range ids.FindAllStringSubmatch(text, -1) {
			got[path] = append(got[path], m[1])
		}
	}
	return got
}

func testStable(t *testing.T, dialect string) {
	ctx := context.Background()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	addRoutes(t, dir, stableRoutes)
	writeFile(t, filepath.Join(dir, "templates", "stable.html"), stableTemplate)
	o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir)}
	o.exec("DELETE FROM posts")
	o.addPosts(11, 30, 1) // titled "Post 11" to "Post 30", one a day
	out := o.out("inc")
	o.full(out)

	want := map[string][]string{"/stable/": {"30", "29"}}
	for n := 1; n <= 9; n++ {
		newer, older := 11+2*n-1, 11+2*n-2
		want[fmt.Sprintf("/stable/page/%d/", n)] = []string{fmt.Sprint(newer), fmt.Sprint(older)}
	}
	if got := stablePosts(t, out); !cmpEqual(got, want) {
		t.Fatalf("full build: pages of /stable/ = %v, want %v", got, want)
	}

	update := func(what string, changes ...bake.Change) []string {
		t.Helper()
		rep, err := build.Update(ctx, o.site(), changes, build.Options{Output: out, Explain: true})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		o.full(o.out("full"))
		o.compare(what)
		var paths []string
		for _, e := range rep.Explain {
			if e.Route == "stable" && e.Action == build.ActionWritten {
				paths = append(paths, e.Path)
			}
		}
		slices.Sort(paths)
		return paths
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: wrote the pages %v of /stable/, want %v", what, got, want)
		}
	}

	o.exec("UPDATE posts SET published = FALSE WHERE id = 16")
	check("unpublish post 16", update("unpublish post 16", updated(16, "published")), "/stable/page/3/")
	want["/stable/page/3/"] = []string{"15"}

	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (31, 'p31', 'Post 31', 'news', 'Body.', TRUE, '2021-01-01 00:00:00')")
	check("insert post 31 at the top", update("insert post 31", bake.Change{Dep: bake.RowDep("posts", "31"), Op: bake.OpInsert}), "/stable/")
	want["/stable/"] = []string{"31", "30", "29"}

	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (32, 'p32', 'Post 32', 'news', 'Body.', TRUE, '2021-01-02 00:00:00')")
	check("insert post 32 at the top", update("insert post 32", bake.Change{Dep: bake.RowDep("posts", "32"), Op: bake.OpInsert}),
		"/stable/", "/stable/page/10/", "/stable/page/9/")
	want["/stable/"] = []string{"32", "31"}
	want["/stable/page/10/"] = []string{"30", "29"}

	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (33, 'p33', 'Post 33', 'news', 'Body.', TRUE, '2020-01-12 12:00:00')")
	// Between post 23, the oldest of page 7, and post 22, the newest of
	// page 6: page 7 holds the rows from its newest down to page 6's.
	check("insert post 33 on 12 January", update("insert post 33", bake.Change{Dep: bake.RowDep("posts", "33"), Op: bake.OpInsert}), "/stable/page/7/")
	want["/stable/page/7/"] = []string{"24", "23", "33"}

	o.exec("UPDATE posts SET title = 'Post 25 (edited)' WHERE id = 25")
	check("retitle post 25", update("retitle post 25", updated(25, "title")), "/stable/page/8/")
	if got := stablePosts(t, out); !cmpEqual(got, want) {
		t.Errorf("after the updates: pages of /stable/ = %v, want %v", got, want)
	}

	// A full build in place keeps the pages.
	before := files(t, out)
	o.full(out)
	if got := files(t, out); !cmpEqual(got, before) {
		t.Error("a full build replacing the build changed its files")
	}
	// A build into a new folder cuts them anew: two a page from the oldest.
	fresh := filepath.Join(dir, "_fresh")
	if _, err := build.Build(ctx, o.site(), build.Options{Output: fresh}); err != nil {
		t.Fatal(err)
	}
	got := stablePosts(t, fresh)
	if p := got["/stable/page/7/"]; len(p) != 2 || len(got) != len(want) {
		t.Errorf("a build into a new folder: pages %v, want page 7 of 2 rows and %d pages", got, len(want))
	}
}

func cmpEqual[T any](a, b T) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestStablePaginationProblems: a stable pagination that cannot work is
// reported on its line, with what to do.
func TestStablePaginationProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ route, want string }{
		{`kind = "list"
path = "/x/"
query = "SELECT id, title FROM posts"
order_by = "id DESC"
per_page = 2
pagination = "pages"
template = "list.html"`, `pagination "pages": use "numbered" (the default) or "stable"`},
		{`kind = "list"
path = "/x/"
query = "SELECT id, title FROM posts"
order_by = "id DESC"
pagination = "stable"
template = "list.html"`, `needs per_page`},
		{`kind = "list"
path = "/x/"
query = "SELECT id, title FROM posts"
per_page = 2
pagination = "stable"
template = "list.html"`, `needs order_by, newest first`},
		{`kind = "list"
path = "/x/"
query = "SELECT id, title FROM posts"
order_by = "lower(title), id"
per_page = 2
pagination = "stable"
template = "list.html"`, `"lower(title)" is not a column with ASC or DESC`},
		{`kind = "detail"
path = "/x/{id}/"
query = "SELECT id, title FROM posts"
pagination = "stable"
template = "list.html"`, `is for list routes, not detail routes`},
	} {
		dir := t.TempDir()
		toml := "[site]\ntitle = \"t\"\n\n[[route]]\n" + tc.route + "\n"
		if err := os.WriteFile(filepath.Join(dir, "bake.toml"), []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sqlsite.LoadConfig(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bake.toml:") {
			t.Errorf("route\n%s\ngave %v, want a problem on its line saying %q", tc.route, err, tc.want)
		}
	}
}
