package bake_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/publish"
	"github.com/bakehq/bake/sqlsite"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob" // mem:// buckets; fileblob and s3blob for folders and S3
	_ "modernc.org/sqlite"       // database/sql driver "sqlite"
)

// A Go program can do what bake build and bake publish do: open a site
// defined by bake.toml, bring its build folder up to date through the
// engine, and publish the build to any gocloud.dev/blob bucket.
func Example_buildAndPublish() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "site")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A site: bake.toml, a template and an SQLite database.
	os.WriteFile(filepath.Join(dir, "bake.toml"), []byte(`
[site]
title = "Items"
[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/items/{slug}/"
query = "SELECT * FROM items"
template = "item.html"
`), 0o644)
	os.Mkdir(filepath.Join(dir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dir, "templates", "item.html"), []byte(`<h1>{{.Row.title}}</h1>`), 0o644)
	db, err := sql.Open("sqlite", filepath.Join(dir, "site.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, slug TEXT, title TEXT);
		INSERT INTO items VALUES (1, 'apple', 'Apple'), (2, 'pear', 'Pear')`); err != nil {
		log.Fatal(err)
	}

	// Open the site and build it.
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		log.Fatal(err)
	}
	site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir, Dialect: sqlsite.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(dir, "_site")
	rep, err := build.Run(ctx, site, build.Changes{}, build.RunOptions{Options: build.Options{Output: out}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("built %d pages (full: %s)\n", rep.Pages, rep.FullReason)

	// One row changed: the changes name it, and the build is incremental.
	db.Exec(`UPDATE items SET title = 'Green pear' WHERE id = 2`)
	rep, err = build.Run(ctx, site, build.Changes{List: []bake.Change{{Dep: bake.RowDep("items", "2")}}}, build.RunOptions{Options: build.Options{Output: out}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("updated: incremental %v, %d written\n", rep.Incremental, rep.Written)

	// Publish the build: the plan is the difference with what the bucket
	// holds, applied uploads first, deletes last.
	bucket, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer bucket.Close()
	plan, resume, err := publish.Prepare(ctx, bucket, out, publish.DiffOptions{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := publish.Apply(ctx, bucket, plan, publish.ApplyOptions{Dir: out, Resume: resume})
	if err != nil {
		log.Fatal(err)
	}
	page, err := bucket.ReadAll(ctx, "items/pear/index.html")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("published %d objects; items/pear/index.html: %s\n", res.Uploaded, page)
	// Output:
	// built 2 pages (full: no earlier build)
	// updated: incremental true, 1 written
	// published 2 objects; items/pear/index.html: <h1>Green pear</h1>
}
