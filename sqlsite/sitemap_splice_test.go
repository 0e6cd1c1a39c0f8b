package sqlsite_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
	"github.com/cespare/xxhash/v2"
)

// TestSplicedSitemapOutlivesGC: the spliced sitemap reads the last build's
// files where they are mapped, and they stay mapped until its pages are
// rendered, however late and whatever the collector does meanwhile. The
// pages of an update are rendered here only after its stream has ended and
// the collector has run, and must equal a full build's files.
func TestSplicedSitemapOutlivesGC(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir), sitemapMax: 3}
	o.full(o.out("inc"))
	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (40, 'new-post', 'New', 'notes', 'Body.', TRUE, '2025-09-01 00:00:00')")
	o.full(o.out("full"))

	ctx := context.Background()
	prev, err := output.OpenIndex(ctx, o.out("inc"))
	if err != nil {
		t.Fatal(err)
	}
	defer prev.Close()
	var maps []*bake.Page
	for p, err := range o.site().Update(ctx, prev, []bake.Change{{Dep: bake.RowDep("posts", "40"), Op: bake.OpInsert}}) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.Path, "/sitemap") && !p.Remove {
			maps = append(maps, p)
		}
	}
	if len(maps) < 3 {
		t.Fatalf("%d sitemap files made again, want an index and parts", len(maps))
	}
	for range 3 {
		runtime.GC()
	}
	for _, p := range maps {
		var buf bytes.Buffer
		if err := p.Render(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		name, err := bake.FileName(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(o.out("full"), name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from a full build's:\n%s\nwant:\n%s", p.Path, buf.Bytes(), want)
		}
	}
	maps = nil
	for range 3 {
		runtime.GC() // the cleanup unmaps; nothing reads the files any more
	}
}

// TestSitemapUpdateRendersChangedParts checks that a page added to a
// sitemap in parts makes an update render the part that lists it, not the
// parts after it (parts are cut where their URLs are, not by count), and
// that the result equals a full build.
func TestSitemapUpdateRendersChangedParts(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{100, 4} { // parts of about 10 URLs; of 2, with runs cut in pieces
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			t.Parallel()
			testSitemapParts(t, limit)
		})
	}
}

func testSitemapParts(t *testing.T, limit int) {
	ctx := context.Background()
	dir := writeItemsSite(t, 500, "")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir), sitemapMax: limit}
	out := o.out("inc")
	o.full(out)
	parts, _ := filepath.Glob(filepath.Join(out, "sitemap-*.xml"))
	if len(parts) < 20 {
		t.Fatalf("%d sitemap parts, want 50 or more (500 URLs)", len(parts))
	}
	if limit == 100 {
		oneInsert(t, ctx, o, out, len(parts))
	}

	// Items in and out at random, a part's first among them now and then
	// (parts join or split, and the later ones are numbered again): each
	// update equals a full build.
	rng := rand.New(rand.NewPCG(7, 8))
	for step := range 30 {
		id := rng.IntN(600) + 1
		what := fmt.Sprintf("step %d: item %d", step, id)
		if o.exec(fmt.Sprintf("DELETE FROM items WHERE id = %d", id)) == 0 {
			o.exec(fmt.Sprintf("INSERT INTO items (id) VALUES (%d)", id))
			what += " in"
		} else {
			what += " out"
		}
		o.incremental([]bake.Change{{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpUpdate}}, what)
		o.full(o.out("full"))
		o.compare(what)
	}
}

// oneInsert adds to the site of testSitemapParts (parts of 10 URLs) an
// item whose URL does not start a part: an update renders the one part
// that lists it.
func oneInsert(t *testing.T, ctx context.Context, o *oracle, out string, parts int) {
	t.Helper()
	// An item whose URL does not start a part: a part starts at a URL
	// whose loc's XXH64 is a multiple of a tenth of the limit.
	id := 1250
	for xxhash.Sum64String(fmt.Sprintf("https://x.example/i/%d/", id))%10 == 0 {
		id += 1000
	}
	o.exec(fmt.Sprintf("INSERT INTO items (id) VALUES (%d)", id))
	rep, err := build.Update(ctx, o.site(), []bake.Change{{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpInsert}}, build.Options{Output: out, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	var sitemaps []string
	for _, e := range rep.Explain {
		if strings.HasPrefix(e.Path, "/sitemap") {
			sitemaps = append(sitemaps, e.Path+" "+e.Action)
		}
	}
	if len(sitemaps) != 1 || !strings.HasSuffix(sitemaps[0], " written") {
		t.Errorf("sitemap files rendered for one page added: %q; want the one part that lists it, written (of %d parts)", sitemaps, parts)
	}
	o.full(o.out("full"))
	o.compare("insert an item")
}

// TestSitemapManyChanges: updates that change several rows at once
// (inserts, deletes, lastmod-only edits, slug moves), slugs needing
// escaping, an excluded prefix, and the sitemap shrinking to one file and
// growing back; each update must equal a full build.
func TestSitemapManyChanges(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("180 full builds")
	}
	for _, limit := range []int{2, 4, 20} {
		for seed := range uint64(1) {
			t.Run(fmt.Sprint("limit=", limit, "/seed=", seed), func(t *testing.T) {
				t.Parallel()
				sitemapChanges(t, limit, uint64(limit)*100+seed)
			})
		}
	}
}

// escapedSlugs make URLs that a sitemap escapes.
var escapedSlugs = []string{"a&b", "x y", "ü", "q'\"", "t<t>", "p%20", "z", "0", "é&é"}

// escapedSlug is the slug of item id.
func escapedSlug(id int) string {
	return fmt.Sprintf("%s-%d", escapedSlugs[id%len(escapedSlugs)], id)
}

// sitemapChanges runs the steps of TestSitemapManyChanges on a site with
// sitemap parts of at most limit URLs.
func sitemapChanges(t *testing.T, limit int, seed uint64) {
	const n = 120
	dir := writeSite(t, map[string]string{
		"bake.toml": `[site]
base_url = "https://x.example"
[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/i/{slug}/"
query = "SELECT id, slug, at FROM items"
template = "item.html"
lastmod = "at"
[[route]]
kind = "sitemap"
exclude = ["/i/z"]
`,
		"seed.sql": fmt.Sprintf(`CREATE TABLE items (id INTEGER PRIMARY KEY, slug TEXT, at TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) INSERT INTO items SELECT i, 's' || i, '2025-01-01 00:00:00' FROM n;`, n),
		"templates/item.html": `{{.Row.id}}`,
	})
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir), sitemapMax: limit}
	for id := 1; id <= n; id++ {
		o.exec(fmt.Sprintf("UPDATE items SET slug = '%s' WHERE id = %d", sqlQuote(escapedSlug(id)), id))
	}
	o.full(o.out("inc"))
	rng := rand.New(rand.NewPCG(seed, 99))
	live := map[int]bool{}
	for id := 1; id <= n; id++ {
		live[id] = true
	}
	for step := range 60 {
		o.step = step
		k := 1 + rng.IntN(6)
		if step%20 == 10 {
			k = 0
			// shrink below the limit: delete all but limit-1 (or limit)
			var changes []bake.Change
			left := 0
			for id := range live {
				if live[id] && left < limit-1+step%2 {
					left++
					continue
				}
				if live[id] {
					o.exec(fmt.Sprintf("DELETE FROM items WHERE id = %d", id))
					live[id] = false
					changes = append(changes, bake.Change{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpUpdate})
				}
			}
			o.incremental(changes, "shrink")
			o.full(o.out("full"))
			o.compare("shrink")
			// grow back
			changes = nil
			for id := 1; id <= n; id++ {
				if !live[id] && rng.IntN(2) == 0 {
					o.exec(fmt.Sprintf("INSERT INTO items VALUES (%d, '%s', '2025-01-02 00:00:00')", id, sqlQuote(escapedSlug(id))))
					live[id] = true
					changes = append(changes, bake.Change{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpUpdate})
				}
			}
			o.incremental(changes, "grow")
			o.full(o.out("full"))
			o.compare("grow")
			continue
		}
		var changes []bake.Change
		what := fmt.Sprintf("step %d:", step)
		seen := map[int]bool{}
		for range k {
			id := rng.IntN(n+40) + 1
			if seen[id] {
				continue
			}
			seen[id] = true
			switch {
			case live[id] && rng.IntN(3) == 0:
				o.exec(fmt.Sprintf("UPDATE items SET at = '2025-03-%02d 00:00:00' WHERE id = %d", 1+rng.IntN(28), id))
				what += fmt.Sprintf(" %d lastmod", id)
			case live[id] && rng.IntN(3) == 0:
				o.exec(fmt.Sprintf("UPDATE items SET slug = '%s' WHERE id = %d", sqlQuote(escapedSlug(id+rng.IntN(1000)*1000)), id))
				what += fmt.Sprintf(" %d moved", id)
			case live[id]:
				o.exec(fmt.Sprintf("DELETE FROM items WHERE id = %d", id))
				live[id] = false
				what += fmt.Sprintf(" %d out", id)
			default:
				o.exec(fmt.Sprintf("INSERT INTO items VALUES (%d, '%s', '2025-02-01 00:00:00')", id, sqlQuote(escapedSlug(id))))
				live[id] = true
				what += fmt.Sprintf(" %d in", id)
			}
			changes = append(changes, bake.Change{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpUpdate})
		}
		o.incremental(changes, what)
		o.full(o.out("full"))
		o.compare(what)
	}
}

// sqlQuote doubles the quotes of s, for an SQL string.
func sqlQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// TestSitemapToOneFile: 21 URLs at a limit of 20 (parts of about
// 2): removing any one makes the sitemap one file, whichever part it was in.
func TestSitemapToOneFile(t *testing.T) {
	t.Parallel()
	dir := writeItemsSite(t, 21, "")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir), sitemapMax: 20}
	o.full(o.out("inc"))
	for id := 1; id <= 21; id++ {
		o.exec(fmt.Sprintf("DELETE FROM items WHERE id = %d", id))
		o.incremental([]bake.Change{{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpUpdate}}, "out")
		o.full(o.out("full"))
		o.compare(fmt.Sprint(id, " out"))
		o.exec(fmt.Sprintf("INSERT INTO items (id) VALUES (%d)", id))
		o.incremental([]bake.Change{{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpUpdate}}, "in")
		o.full(o.out("full"))
		o.compare(fmt.Sprint(id, " in"))
	}
}

// TestSitemapAfterUnfinishedUpdate: an update moved its files into place
// and its index commit did not happen (the folder is marked pending, the
// index is the one before). The update that replays its changes leaves the
// index describing the files, as a full build does: it does not keep a
// sitemap part that already lists them.
func TestSitemapAfterUnfinishedUpdate(t *testing.T) {
	t.Parallel()
	dir := writeItemsSite(t, 500, "")
	o := &oracle{t: t, dialect: sqlsite.SQLite, dir: dir, db: openDB(t, sqlsite.SQLite, dir), sitemapMax: 100}
	inc := o.out("inc")
	o.full(inc)
	snap := o.out("snap")
	if err := os.CopyFS(snap, os.DirFS(inc)); err != nil {
		t.Fatal(err)
	}
	// An item whose URL does not start a part: one part changes.
	id := 1250
	for xxhash.Sum64String(fmt.Sprintf("https://x.example/i/%d/", id))%10 == 0 {
		id += 1000
	}
	o.exec(fmt.Sprintf("INSERT INTO items (id) VALUES (%d)", id))
	changes := []bake.Change{{Dep: bake.RowDep("items", fmt.Sprint(id)), Op: bake.OpInsert}}
	o.incremental(changes, "insert")
	// The index as it was before that update, and the pending mark: as if
	// the update stopped between its files and its index commit.
	if err := os.RemoveAll(filepath.Join(inc, bake.ReservedDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(inc, bake.ReservedDir), os.DirFS(filepath.Join(snap, bake.ReservedDir))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inc, bake.ReservedDir, "update-pending"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(snap)
	o.incremental(changes, "insert replayed")
	o.full(o.out("full"))
	o.compare("replayed")
}
