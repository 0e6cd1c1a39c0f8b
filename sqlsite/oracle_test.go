package sqlsite_test

import (
	"bytes"
	"context"
	"database/sql"

	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
)

// oracle drives the correctness oracle of incremental builds: random edits
// to the blog fixture's rows, templates and static files, an incremental
// build after each, and a comparison with a full build of the same state.
type oracle struct {
	t       *testing.T
	dialect string
	dir     string
	db      *sql.DB
	rng     *rand.Rand
	nextID  int
	moves   int // redirects added
	step    int
	// precise says whether the changes given to the build name the
	// operation and columns (as change capture records them) or only the
	// rows (as bake build --changed does).
	precise bool
	// sitemapMax is the site's Options.SitemapMax.
	sitemapMax int
	// stats are the counters of the sites of the incremental builds,
	// summed by counter name.
	stats map[string]int64
	// inserted are the keys of the posts inserted by this step's edits.
	inserted map[string]bool
	// places are where each post was on the pages of the lists watched
	// (watchedLists), after the last build; seen counts the kinds of
	// moves seen between builds (observe).
	places map[string]listPlaces
	seen   map[string]int
}

// TestIncrementalOracle is the correctness oracle: after every step, the
// incrementally updated build folder and index must equal, byte for byte, a
// full build of the same data, templates and static files.
func TestIncrementalOracle(t *testing.T) {
	t.Parallel()
	steps := 60
	if testing.Short() {
		steps = 20
	}
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed=%d", dialect, seed), func(t *testing.T) {
				t.Parallel()
				if dialect == sqlsite.Postgres && seed > 1 && testing.Short() {
					t.Skip("one PostgreSQL seed in -short mode")
				}
				dir, _ := extract(t, "testdata/sites/blog.txtar")
				addRoutes(t, dir, sluggedRoutes)
				addRoutes(t, dir, stableRoutes)
				addRoutes(t, dir, splicedRoutes)
				writeFile(t, filepath.Join(dir, "templates", "stable.html"), stableTemplate)
				o := &oracle{t: t, dialect: dialect, dir: dir, db: openDB(t, dialect, dir), rng: rand.New(rand.NewPCG(seed, 42)), nextID: 100}
				if seed == 3 {
					o.sitemapMax = 10 // a sitemap in parts, gaining and losing some
				}
				o.full(o.out("inc"))
				o.observe()
				for o.step = 1; o.step <= steps; o.step++ {
					o.inserted = map[string]bool{}
					changes, what := o.mutate()
					// One step in four makes two changes in one build.
					if o.rng.IntN(4) == 0 {
						more, also := o.mutate()
						changes, what = append(changes, more...), what+", and "+also
					}
					o.incremental(changes, what)
					o.full(o.out("full"))
					o.compare(what)
					if t.Failed() {
						return
					}
					o.observe()
				}
				o.checkSeen()
				// The stable lists were updated page by page, not only
				// made whole again.
				if o.stats["StablePages"] == 0 {
					t.Errorf("no stable list page was made from its rows (StableWhole %d)", o.stats["StableWhole"])
				}
				t.Logf("stable lists: %d pages made from their rows, %d made whole", o.stats["StablePages"], o.stats["StableWhole"])
				// The numbered list /recent/ writes its rows through one
				// cacheEach: its shifted pages were spliced.
				if o.stats["ListPagesSpliced"] == 0 {
					t.Errorf("no numbered list page was spliced (%d updates declined)", o.stats["ListSpliceDeclined"])
				}
				t.Logf("numbered lists: %d pages spliced, %d updates declined", o.stats["ListPagesSpliced"], o.stats["ListSpliceDeclined"])
			})
		}
	}
}

// sluggedRoutes are added to the blog fixture by the oracle: a grouped list
// and a detail route whose paths slug a column, so that a row whose
// slugged value changes moves its page (and a group with spaces in its
// value, "Big News", has a folder without them).
const sluggedRoutes = `[[route]]
name = "topic"
kind = "list"
path = "/topics/{tag|slugify}/"
group_by = "tag"
query = "SELECT id, slug, title, tag, published_at FROM posts WHERE published"
order_by = "published_at DESC, id DESC"
per_page = 2
template = "tag.html"

[[route]]
name = "titled"
kind = "detail"
path = "/titled/{title|slugify}-{id}/"
query = "SELECT id, slug, title, tag, body, published_at FROM posts WHERE published"
template = "post.html"
[route.queries]
related = "SELECT slug, title FROM posts WHERE published AND tag = :tag AND id <> :id ORDER BY id"

`

// stableRoutes are added to the blog fixture by the oracle: lists paginated
// stably, one whose template shows neither the number of pages nor of rows
// (its updates read only the pages the rows were and are on), one that
// shows the number of pages (remade whole when a page is added), and a
// grouped one (each group remade when one of its rows changed).
const stableRoutes = `[[route]]
name = "stable"
kind = "list"
path = "/stable/"
query = "SELECT id, slug, title, tag, published_at FROM posts WHERE published"
order_by = "published_at DESC, id DESC"
per_page = 2
pagination = "stable"
template = "stable.html"

[[route]]
name = "stabletag"
kind = "list"
path = "/stable-tags/{tag}/"
group_by = "tag"
query = "SELECT id, slug, title, tag, published_at FROM posts WHERE published"
order_by = "published_at DESC, id DESC"
per_page = 2
pagination = "stable"
template = "stable.html"

[[route]]
name = "stablepages"
kind = "list"
path = "/stable-pages/"
query = "SELECT id, slug, title, published_at FROM posts WHERE published"
order_by = "published_at DESC"
per_page = 3
pagination = "stable"
template = "tag.html"

`

// splicedRoutes are added to the blog fixture by the oracle: a numbered
// list by title, whose template writes its rows through one cacheEach, so
// that an update splices its pages (as /recent/'s, by date): a title edit
// moves a row, an insert or a delete shifts the rows after it.
const splicedRoutes = `[[route]]
name = "bytitle"
kind = "list"
path = "/by-title/"
query = "SELECT id, slug, title, tag, published_at FROM posts WHERE published"
order_by = "title, id"
per_page = 3
template = "stable.html"

`

// stableTemplate shows every link of a stable list's pager, but not its
// number of pages or rows.
const stableTemplate = `{{template "base" .}}{{define "content"}}<h1>page {{.Pager.Number}}</h1>
<ul>{{cacheEach "item" .Rows}}</ul>
<p>first={{.Pager.First}} prev={{.Pager.Prev}} next={{.Pager.Next}} last={{.Pager.Last}}</p>{{end}}
`

// addRoutes adds routes (bake.toml text) to the blog fixture in dir,
// before its notfound route.
func addRoutes(t *testing.T, dir, routes string) {
	t.Helper()
	toml := filepath.Join(dir, "bake.toml")
	b, err := os.ReadFile(toml)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "[[route]]\nkind = \"notfound\"", routes+"[[route]]\nkind = \"notfound\"", 1)
	if s == string(b) {
		t.Fatal("no notfound route in the fixture's bake.toml")
	}
	if err := os.WriteFile(toml, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (o *oracle) out(name string) string { return filepath.Join(o.dir, "_"+name) }

func (o *oracle) site() *sqlsite.Site {
	o.t.Helper()
	cfg, err := sqlsite.LoadConfig(o.dir)
	if err != nil {
		o.t.Fatal(err)
	}
	s, err := sqlsite.New(context.Background(), cfg, o.db, sqlsite.Options{Dir: o.dir, Dialect: o.dialect, SitemapMax: o.sitemapMax})
	if err != nil {
		o.t.Fatal(err)
	}
	return s
}

func (o *oracle) full(out string) {
	o.t.Helper()
	ctx := context.Background()
	if inc := o.out("inc"); out != inc {
		// The full build keeps the pages of stable lists as the build it
		// is compared with has them (as it would replacing that build).
		prev, err := output.OpenIndex(ctx, inc)
		if err != nil {
			o.t.Fatal(err)
		}
		defer prev.Close()
		ctx = bake.WithPrevious(ctx, prev)
	}
	rep, err := build.Build(ctx, o.site(), build.Options{Output: out, Workers: 2})
	if err != nil {
		for _, p := range rep.Problems {
			o.t.Error(p)
		}
		o.t.Fatalf("step %d: full build: %v", o.step, err)
	}
}

func (o *oracle) incremental(changes []bake.Change, what string) *sqlsite.Site {
	o.t.Helper()
	site := o.site()
	rep, err := build.Update(context.Background(), site, changes, build.Options{Output: o.out("inc"), Workers: 2, Explain: true})
	if o.stats == nil {
		o.stats = map[string]int64{}
	}
	for name, n := range statTotals(site) {
		o.stats[name] += n
	}
	if err != nil {
		if rep != nil {
			for _, p := range rep.Problems {
				o.t.Error(p)
			}
		}
		o.t.Fatalf("step %d (%s): incremental build: %v", o.step, what, err)
	}
	o.t.Logf("step %d: %s: rendered %d, written %d, removed %d", o.step, what, rep.Rendered, rep.Written, rep.Removed)
	return site
}

// compare checks the incremental build against the full one.
func (o *oracle) compare(what string) {
	o.t.Helper()
	inc, full := files(o.t, o.out("inc")), files(o.t, o.out("full"))
	if diff := cmp.Diff(full, inc); diff != "" {
		o.t.Errorf("step %d (%s): incremental build differs from a full build (-full +incremental):\n%s", o.step, what, diff)
	}
	if diff := cmp.Diff(manifest(o.t, o.out("full")), manifest(o.t, o.out("inc"))); diff != "" {
		o.t.Errorf("step %d (%s): incremental manifest differs (-full +incremental):\n%s", o.step, what, diff)
	}
	if diff := cmp.Diff(stableValues(o.t, o.out("full")), stableValues(o.t, o.out("inc"))); diff != "" {
		o.t.Errorf("step %d (%s): the stable lists' kept boundaries differ (-full +incremental):\n%s", o.step, what, diff)
	}
}

// stableValues reads what a build's index keeps of its stable lists (the
// values pages:ROUTE), which the next build's pages are cut by.
func stableValues(t *testing.T, dir string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, filepath.FromSlash(output.IndexFile))+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name, value FROM meta WHERE name LIKE 'site:pages:%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// files reads every file of a build folder except bake's own.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == bake.ReservedDir {
				return filepath.SkipDir
			}
			if rel != "." {
				if es, _ := os.ReadDir(p); len(es) == 0 {
					out[filepath.ToSlash(rel)+"/"] = "(empty folder)"
				}
			}
			return nil
		}
		b, _ := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return out
}

func manifest(t *testing.T, dir string) []string {
	t.Helper()
	idx, err := output.OpenIndex(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if err := idx.Check(context.Background()); err != nil {
		t.Error(err)
	}
	var b bytes.Buffer
	if err := idx.WriteManifest(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return strings.Split(b.String(), "\n")
}

func (o *oracle) exec(q string, args ...any) int64 {
	o.t.Helper()
	if o.dialect == sqlsite.Postgres {
		n := 0
		var b strings.Builder
		for _, c := range q {
			if c == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(c)
		}
		q = b.String()
	}
	res, err := o.db.Exec(q, args...)
	if err != nil {
		o.t.Fatalf("step %d: %s: %v", o.step, q, err)
	}
	n, _ := res.RowsAffected()
	return n
}

// postIDs returns the ids of the posts table.
func (o *oracle) ids(query string) []string {
	o.t.Helper()
	rows, err := o.db.Query(query)
	if err != nil {
		o.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			o.t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func (o *oracle) pick(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[o.rng.IntN(len(xs))]
}

func (o *oracle) date() string {
	return fmt.Sprintf("2026-%02d-%02d %02d:00:00", 1+o.rng.IntN(4), 1+o.rng.IntN(28), o.rng.IntN(24))
}

var titles = []string{"Hello", "Café & crème", "<b>bold</b>", "Guide", "Update", "Results night", "Zebra"}

// mutate makes one random edit and returns the changes a build is told of.
func (o *oracle) mutate() ([]bake.Change, string) {
	o.precise = o.rng.IntN(2) == 0
	row := func(table, key, op string, cols ...string) []bake.Change {
		c := bake.Change{Dep: bake.RowDep(table, key)}
		if o.precise {
			c.Op = op
			if op == bake.OpUpdate {
				c.Columns = cols
			}
		}
		return []bake.Change{c}
	}
	posts := o.ids("SELECT id FROM posts ORDER BY id")
	id := o.pick(posts)
	// "notes" is in no post at first: a group that comes and goes; "Big
	// News" is one whose slugged path (/topics/big-news/) is not its value.
	tag := o.pick([]string{"news", "guides", "notes", "Big News"})
	switch n := o.rng.IntN(19); {
	case n == 0 || n == 1 || n >= 17:
		// Two in four inserts are the newest post (they fill the first
		// page of a stable list), the others backdated among the rest:
		// one in three of those at the very time of a post (a tie the key
		// orders), maybe the first row of a stable page.
		if n < 17 && id != "" && o.rng.IntN(3) == 0 {
			k := o.insert(tag, "", id)
			return row("posts", k, bake.OpInsert), "insert post " + k + " at the time of post " + id
		}
		date := o.date()
		if n >= 17 {
			date = o.newest()
		}
		k := o.insert(tag, date, "")
		return row("posts", k, bake.OpInsert), "insert post " + k + " at " + date
	case n == 16:
		// A burst of newest posts in one group: the first page of a
		// stable list gives up pages, maybe more than one, in one build.
		var changes []bake.Change
		var keys []string
		for range 3 + o.rng.IntN(3) {
			k := o.insert(tag, o.newest(), "")
			changes = append(changes, row("posts", k, bake.OpInsert)...)
			keys = append(keys, k)
		}
		return changes, "insert posts " + strings.Join(keys, ", ") + " tagged " + tag + ", the newest"
	case n == 2 && id != "":
		o.exec("UPDATE posts SET title = ? WHERE id = ?", o.pick(titles)+" "+strconv.Itoa(o.step), id)
		return row("posts", id, bake.OpUpdate, "title"), "retitle post " + id
	case n == 3 && id != "":
		o.exec("UPDATE posts SET published_at = ? WHERE id = ?", o.date(), id)
		return row("posts", id, bake.OpUpdate, "published_at"), "redate post " + id
	case n == 4 && id != "":
		o.exec("UPDATE posts SET slug = ? WHERE id = ?", "moved-"+id+"-"+strconv.Itoa(o.step), id)
		return row("posts", id, bake.OpUpdate, "slug"), "new slug for post " + id
	case (n == 5 || n == 6) && id != "":
		if o.rng.IntN(3) == 0 {
			// The newest post: on the first page of every list.
			id = o.ids("SELECT id FROM posts ORDER BY published_at DESC, id DESC LIMIT 1")[0]
		}
		o.exec("UPDATE posts SET published = NOT published WHERE id = ?", id)
		return row("posts", id, bake.OpUpdate, "published"), "toggle published of post " + id
	case n == 7 && id != "":
		o.exec("DELETE FROM posts WHERE id = ?", id)
		return row("posts", id, bake.OpDelete), "delete post " + id
	case n == 8 && id != "":
		o.exec("UPDATE posts SET tag = ? WHERE id = ?", tag, id)
		return row("posts", id, bake.OpUpdate, "tag"), "retag post " + id + " to " + tag
	case n == 9 && id != "":
		o.exec("UPDATE posts SET body = ? WHERE id = ?", "New body "+strconv.Itoa(o.step), id)
		return row("posts", id, bake.OpUpdate, "body"), "new body for post " + id
	case n == 10:
		o.exec("UPDATE tags SET title = ? WHERE name = ?", "Tag "+strconv.Itoa(o.step), tag)
		return row("tags", tag, bake.OpUpdate, "title"), "retitle tag " + tag
	case n == 11:
		o.moves++ // not the step: a step can add two
		k := strconv.Itoa(o.moves)
		o.exec("INSERT INTO moves (id, source, target) VALUES (?, ?, ?)", 1000+o.moves, "/old-"+k+"/", "/posts/")
		return row("moves", strconv.Itoa(1000+o.moves), bake.OpInsert), "add redirect " + k
	case n == 12:
		moves := o.ids("SELECT id FROM moves ORDER BY id")
		if m := o.pick(moves); m != "" {
			o.exec("DELETE FROM moves WHERE id = ?", m)
			return row("moves", m, bake.OpDelete), "delete redirect " + m
		}
		return nil, "nothing"
	case n == 13 || n == 14:
		name := o.pick([]string{"post.html", "list.html", "tag.html", "partials/item.html", "404.html", "home.html"})
		o.edit(filepath.Join("templates", name), "<!-- edit "+strconv.Itoa(o.step)+" -->")
		return nil, "edit template " + name
	case n == 15:
		name := o.pick([]string{"site.css", "extra.css", "img/dot.svg"})
		p := filepath.Join(o.dir, "static", name)
		if _, err := os.Stat(p); err == nil && name != "site.css" && o.rng.IntN(2) == 0 {
			os.Remove(p)
			return nil, "delete static " + name
		}
		o.edit(filepath.Join("static", name), "/* edit "+strconv.Itoa(o.step)+" */")
		return nil, "edit static " + name
	}
	return nil, "nothing"
}

// newest returns a time after every post's but those inserted later.
func (o *oracle) newest() string {
	return fmt.Sprintf("2026-05-01 %02d:%02d:00", (o.nextID+1)/60%24, (o.nextID+1)%60)
}

// insert adds a post with the next id, tagged tag, published three times
// in four, at date or at the time of post same; it returns its key.
func (o *oracle) insert(tag, date, same string) string {
	o.t.Helper()
	o.nextID++
	k := strconv.Itoa(o.nextID)
	if o.inserted == nil {
		o.inserted = map[string]bool{}
	}
	o.inserted[k] = true
	args := []any{o.nextID, "post-" + k, o.pick(titles) + " " + k, tag, "Body of **" + k + "**.", o.rng.IntN(4) > 0}
	if same != "" {
		o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) SELECT ?, ?, ?, ?, ?, ?, published_at FROM posts WHERE id = ?", append(args, same)...)
	} else {
		o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)", append(args, date)...)
	}
	return k
}

// edit appends text to a file of the site folder, creating it if needed.
func (o *oracle) edit(name, text string) {
	o.t.Helper()
	p := filepath.Join(o.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		o.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text + "\n"); err != nil {
		o.t.Fatal(err)
	}
}

// statTotals sums the counters of site's routes, by counter name.
func statTotals(site *sqlsite.Site) map[string]int64 {
	out := map[string]int64{}
	for _, st := range site.Stats() {
		out["ListPagesByKey"] += st.ListPagesByKey.Load()
		out["StablePages"] += st.StablePages.Load()
		out["ListPagesSpliced"] += st.ListPagesSpliced.Load()
		out["ListSpliceDeclined"] += st.ListSpliceDeclined.Load()
		out["StableWhole"] += st.StableWhole.Load()
		out["SitemapFallbacks"] += st.SitemapFallbacks.Load()
	}
	return out
}

// watchedLists are the lists whose moves the oracle counts (observe): the
// folder of their pages in a build, and whether they are paginated
// stably. Each must see every kind of move (checkSeen).
var watchedLists = []struct {
	folder string
	stable bool
}{
	{"posts/", false},
	{"stable/", true},
	{"stable-tags/", true}, // grouped: one list a tag
}

// listPlaces are the places of posts on the pages of one route's lists:
// the post's key to the path of its page, and the number of pages of each
// list by the path of its first page.
type listPlaces struct {
	page  map[string]string
	pages map[string]int
}

// postLink finds the posts the oracle inserted (slugs post-ID, or
// moved-ID-STEP once moved) on a page of a list, by their ids.
var postLink = regexp.MustCompile(`<li><a href="/posts/(?:post-(\d+)|moved-(\d+)-\d+)/">`)

// placesOf reads where each post inserted by the oracle is on the pages
// of the lists in folder (a folder of lists by group for stable-tags/),
// in the files of a build.
func (o *oracle) placesOf(all map[string]string, folder string) listPlaces {
	pl := listPlaces{page: map[string]string{}, pages: map[string]int{}}
	for name, text := range all {
		rest, ok := strings.CutPrefix(name, folder)
		if !ok {
			continue
		}
		dir, ok := strings.CutSuffix(rest, "index.html")
		if !ok {
			continue
		}
		group := ""
		if folder == "stable-tags/" {
			g, d, _ := strings.Cut(dir, "/")
			group, dir = g+"/", d
		}
		if dir != "" && !strings.HasPrefix(dir, "page/") {
			continue // /posts/SLUG/, not a page of the list
		}
		base := "/" + folder + group
		pl.pages[base]++
		for _, m := range postLink.FindAllStringSubmatch(text, -1) {
			pl.page[m[1]+m[2]] = base + dir
		}
	}
	return pl
}

// observe counts how the posts moved on the watched lists since the last
// build: added or removed on the first page or an older one, inserted on
// an older one (backdated), moved between pages, pages added or removed.
func (o *oracle) observe() {
	all := files(o.t, o.out("inc"))
	if o.seen == nil {
		o.seen = map[string]int{}
	}
	now := map[string]listPlaces{}
	for _, wl := range watchedLists {
		pl := o.placesOf(all, wl.folder)
		now[wl.folder] = pl
		prev, ok := o.places[wl.folder]
		if !ok {
			continue
		}
		where := func(path string) string {
			if base, _, paged := strings.Cut(path, "page/"); paged && base != path {
				return "an older page"
			}
			return "the first page"
		}
		base := func(path string) string { b, _, _ := strings.Cut(path, "page/"); return b }
		for k, path := range pl.page {
			was, ok := prev.page[k]
			switch {
			case !ok || base(was) != base(path):
				o.seen[wl.folder+": added to "+where(path)]++
				if o.inserted[k] {
					o.seen[wl.folder+": inserted on "+where(path)]++
				}
			case was != path && wl.stable:
				o.seen[wl.folder+": moved between pages"]++
			}
		}
		for k, was := range prev.page {
			if path, ok := pl.page[k]; !ok || base(was) != base(path) {
				o.seen[wl.folder+": removed from "+where(was)]++
			}
		}
		for b, n := range pl.pages {
			if m := prev.pages[b]; m > 0 && n > m {
				o.seen[wl.folder+": pages added"]++
			}
		}
		for b, m := range prev.pages {
			if n := pl.pages[b]; n < m {
				o.seen[wl.folder+": pages removed"]++
			}
		}
	}
	o.places = now
}

// checkSeen fails the test when a watched list did not see every kind of
// move the property test asks for (-short runs too few steps).
func (o *oracle) checkSeen() {
	o.t.Helper()
	o.t.Logf("moves seen: %v", o.seen)
	if testing.Short() {
		return
	}
	for _, wl := range watchedLists {
		want := []string{"added to the first page", "added to an older page", "removed from an older page",
			"inserted on the first page", "inserted on an older page", "pages added"}
		if wl.stable {
			// A numbered list shifts its rows: a post leaves its first
			// page for the next one, without leaving the list.
			want = append(want, "removed from the first page", "moved between pages")
		}
		for _, w := range want {
			if o.seen[wl.folder+": "+w] == 0 {
				o.t.Errorf("%s: never %s in %d steps", wl.folder, w, o.step-1)
			}
		}
	}
}
