package sqlsite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
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
	o.exec("INSERT INTO posts (id, slug, title, tag, body, published, published_at) VALUES (40, 'new', 'New', 'notes', 'Body.', TRUE, '2025-09-01 00:00:00')")
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
