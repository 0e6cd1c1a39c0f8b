package sqlsite_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// headingTag finds the opening tags of HTML headings.
var headingTag = regexp.MustCompile(`<h([1-6])[\s>]`)

// skippedHeading returns a description of the first heading of page that
// is more than one level below the one before it (an h3 after an h1, or a
// first heading other than h1), or "" when none is.
func skippedHeading(page string) string {
	prev := 0
	for _, m := range headingTag.FindAllStringSubmatch(page, -1) {
		level, _ := strconv.Atoi(m[1])
		if level > prev+1 {
			if prev == 0 {
				return fmt.Sprintf("h%d is the first heading", level)
			}
			return fmt.Sprintf("h%d after h%d", level, prev)
		}
		prev = level
	}
	return ""
}

func TestSkippedHeading(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, page, want string
	}{
		{"none", `<header><hr><p>x</p></header>`, ""},
		{"in order", `<h1>a</h1><h2 class=x>b</h2><h3>c</h3><h2>d</h2><h3>e</h3>`, ""},
		{"back up two levels", `<h1>a</h1><h2>b</h2><h3>c</h3><h2>d</h2>`, ""},
		{"h3 after h1", `<h1>a</h1><h3 class="card">b</h3>`, "h3 after h1"},
		{"first is h2", `<head></head><h2>a</h2>`, "h2 is the first heading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := skippedHeading(tt.page); got != tt.want {
				t.Errorf("skippedHeading(%q) = %q, want %q", tt.page, got, tt.want)
			}
		})
	}
}

// TestNewsroomHeadings builds the example newsroom and checks that no HTML
// page skips a heading level: the HTML checker flags an h3 after an h1, and
// the example is what people copy.
func TestNewsroomHeadings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "examples", "newsroom"))); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, sqlsite.SQLite, dir) // seed.sql, in site.db
	site := newSite(t, dir, db)
	out := filepath.Join(t.TempDir(), "_site")
	if _, err := build.Build(ctx, site, build.Options{Output: out}); err != nil {
		t.Fatal(err)
	}
	pages := 0
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		pages++
		if why := skippedHeading(string(b)); why != "" {
			rel, _ := filepath.Rel(out, p)
			t.Errorf("%s: %s", filepath.ToSlash(rel), why)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages < 10 {
		t.Errorf("checked %d HTML pages, want the whole example", pages)
	}
}
