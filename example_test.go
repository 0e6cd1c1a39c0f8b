package bake_test

import (
	"context"
	"fmt"

	"github.com/bakehq/bake"
)

// Every page path maps to one file of the build folder, and one object key
// when published.
func ExampleFileName() {
	for _, p := range []string{"/", "/items/café/", "/feed.xml", "/../etc/passwd"} {
		name, err := bake.FileName(p)
		fmt.Println(name, err)
	}
	// Output:
	// index.html <nil>
	// items/café/index.html <nil>
	// feed.xml <nil>
	//  map path "/../etc/passwd": path has a ".." segment
}

// Code that reads data for a page records it with Track; the build stores
// the deps in the manifest so that a change re-renders only those pages.
func ExampleTrack() {
	var tr bake.Tracker
	ctx := bake.WithTracker(context.Background(), &tr)

	// Inside a page's Render function, or a helper it calls:
	bake.Track(ctx, bake.RowDep("items", "42"), bake.TmplDep("item.html"))
	bake.Track(ctx, bake.TableDep("categories"))

	fmt.Println(tr.Deps())
	// Output:
	// [row:items/42 table:categories tmpl:item.html]
}

func ExampleEscapePath() {
	fmt.Println(bake.EscapePath("/items/café au lait/"))
	// Output:
	// /items/caf%C3%A9%20au%20lait/
}
