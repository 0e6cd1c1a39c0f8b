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
