package sqlsite_test

import (
	"bytes"
	"context"
	"io"
	"iter"
	"os"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
)

// renderedPage is what a build records of a page.
type renderedPage struct {
	Route, Key, Type, Digest, Redirect string
	Deps                               []bake.Dep
	Body                               string
}

// renderAll renders every page of pages by path, failing on a problem or on
// two pages at one path.
func renderAll(t *testing.T, ctx context.Context, pages iter.Seq2[*bake.Page, error], into map[string]renderedPage) {
	t.Helper()
	for p, err := range pages {
		if err != nil {
			t.Fatalf("page %v: %v", p, err)
		}
		var buf bytes.Buffer
		var tr bake.Tracker
		if p.Source != "" {
			f, err := os.Open(p.Source)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(&buf, f)
			f.Close()
		} else if err := p.Render(bake.WithTracker(ctx, &tr), &buf); err != nil {
			t.Fatalf("render %s: %v", p.Path, err)
		}
		if _, dup := into[p.Path]; dup {
			t.Fatalf("%s made twice", p.Path)
		}
		into[p.Path] = renderedPage{Route: p.Route, Key: p.Key, Type: p.Type(), Digest: p.Digest, Redirect: p.Redirect,
			Deps: bake.SortDeps(append(append([]bake.Dep(nil), p.Deps...), tr.Deps()...)), Body: buf.String()}
	}
}

// TestShardsMakeEveryPageOnce cuts the sites into shards of every size and
// checks that the shards' pages, together, are the pages of a full build:
// each once, with the same bytes, deps and digests.
func TestShardsMakeEveryPageOnce(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dir, _ := extract(t, "testdata/sites/blog.txtar")
			db := openDB(t, dialect, dir)
			cfg, err := sqlsite.LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir, Dialect: dialect})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]renderedPage{}
			renderAll(t, ctx, site.Pages(ctx), want)
			for _, size := range []int{1, 2, 3, 1000} {
				shards, err := site.Shards(ctx, size)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]renderedPage{}
				for _, sh := range shards {
					renderAll(t, ctx, site.ShardPages(ctx, sh), got)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("size %d, %d shards: pages differ from a full build (-full +shards):\n%s", size, len(shards), diff)
				}
				if size == 1 && len(shards) < 10 {
					t.Errorf("size 1: %d shards, want a detail route cut by key: %v", len(shards), shards)
				}
			}
		})
	}
}

// TestShardsOfNewsroom does the same on the example site.
func TestShardsOfNewsroom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../examples/newsroom")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "site.db"))
	db := openDB(t, sqlsite.SQLite, dir)
	site := newSite(t, dir, db)
	want := map[string]renderedPage{}
	renderAll(t, ctx, site.Pages(ctx), want)
	shards, err := site.Shards(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]renderedPage{}
	for _, sh := range shards {
		renderAll(t, ctx, site.ShardPages(ctx, sh), got)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%d shards: pages differ from a full build (-full +shards):\n%s", len(shards), diff)
	}
}

// TestShardsOfTextKeys cuts a detail route keyed by text, with quotes and
// other characters SQL must escape, into one shard a row.
func TestShardsOfTextKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"bake.toml": `[site]
title = "Keys"

[[route]]
name = "word"
kind = "detail"
path = "/words/{n}/"
query = "SELECT word, n FROM words"
key = "word"
template = "word.html"

[[route]]
name = "by-letter"
kind = "list"
path = "/letters/{letter}/"
query = "SELECT word, n, substr(word, 1, 1) AS letter FROM words"
group_by = "letter"
order_by = "word"
per_page = 2
template = "list.html"
`,
		"templates/word.html": `{{.Row.word}}`,
		"templates/list.html": `{{range .Rows}}{{.word}} {{end}}`,
		"seed.sql": `CREATE TABLE words (word TEXT PRIMARY KEY, n INTEGER);
INSERT INTO words VALUES ('it''s', 1), ('a''''b', 2), ('back\slash', 3), ('"quoted"', 4), ('été', 5), ('; DROP TABLE words; --', 6), ('plain', 7), ('it', 8);`,
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := openDB(t, sqlsite.SQLite, dir)
	site := newSite(t, dir, db)
	want := map[string]renderedPage{}
	renderAll(t, ctx, site.Pages(ctx), want)
	shards, err := site.Shards(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) < 9 {
		t.Errorf("%d shards, want one a word and more: %v", len(shards), shards)
	}
	got := map[string]renderedPage{}
	for _, sh := range shards {
		renderAll(t, ctx, site.ShardPages(ctx, sh), got)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages differ from a full build (-full +shards):\n%s", diff)
	}
}
