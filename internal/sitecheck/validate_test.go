package sitecheck

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Versions of the npm packages the validators come from.
const (
	// vnuJar is the W3C Nu HTML checker, as validator.w3.org/nu runs it.
	vnuJar = "vnu-jar@26.9.27"
	// sitemapPkg ships the sitemaps.org schema (schema/sitemap.xsd).
	sitemapPkg = "sitemap@9.0.1"
)

// controls is row text with every kind of character the HTML checker
// rejects raw (C0 controls but tab and newline, DEL, C1 controls): bake
// must never write them into a page.
const controls = "Bell\x07 nul\x00 esc\x1b del\x7f c1\u0085\u009f end"

// buildExample builds a copy of the example site in which a story's title,
// summary and body, and a county's name, carry control characters, into
// _site, and with --production into _prod. It returns the site folder and
// the story's path.
func buildExample(t *testing.T) (dir, story string) {
	t.Helper()
	ctx := context.Background()
	dir = example(t)
	bake(t, ctx, "build", "-C", dir, "-q", "--wait-removal") // creates the database from seed.sql
	db, err := sql.Open("sqlite", filepath.Join(dir, "newsroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var slug string
	if err := db.QueryRow(`SELECT slug FROM articles WHERE id = (SELECT MIN(id) FROM articles WHERE published)`).Scan(&slug); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE articles SET title = title || ?1, dek = dek || ?1, body = body || ?1 WHERE id = (SELECT MIN(id) FROM articles WHERE published)`,
		`UPDATE counties SET name = name || ?1 WHERE id = (SELECT MIN(id) FROM counties)`,
	} {
		if res, err := db.Exec(q, controls); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s: %d rows", q, n)
		}
	}
	bake(t, ctx, "build", "-C", dir, "-q", "--full", "--wait-removal")
	bake(t, ctx, "build", "-C", dir, "-q", "--production", "-o", filepath.Join(dir, "_prod"), "--wait-removal")
	return dir, "news/" + slug + "/index.html"
}

// TestExampleValidates runs every HTML page of the example site through
// the W3C Nu HTML checker, as built and as built with --production
// (minified), with control characters in its rows, and its sitemap through
// the sitemap protocol's XML schema: any error fails the test.
func TestExampleValidates(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("builds the example three times and starts Java: not in -short")
	}
	java := testenv.Java(t)
	xmllint := testenv.Xmllint(t)
	vnu := filepath.Join(testenv.NPMPackage(t, vnuJar), "build", "dist", "vnu.jar")
	xsd := filepath.Join(testenv.NPMPackage(t, sitemapPkg), "schema", "sitemap.xsd")
	dir, story := buildExample(t)

	// Both builds in one run of the checker (it takes most of the time).
	// --skip-non-html: only the .html files (bake's own .bake/ holds none).
	cmd := exec.Command(java, "-Xss8m", "-jar", vnu, "--errors-only", "--skip-non-html", "--format", "gnu",
		filepath.Join(dir, "_site"), filepath.Join(dir, "_prod"))
	if b, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
		t.Errorf("the Nu HTML checker found errors (%v):\n%s", err, b)
	}
	for _, out := range []string{"_site", "_prod"} {
		site := filepath.Join(dir, out)
		pages, _ := filepath.Glob(filepath.Join(site, "*", "*", "index.html"))
		if len(pages) < 20 {
			t.Fatalf("%s: %d pages two levels down; is the example built?", out, len(pages))
		}
		t.Run("sitemap "+out, func(t *testing.T) {
			b, err := exec.Command(xmllint, "--noout", "--schema", xsd, filepath.Join(site, "sitemap.xml")).CombinedOutput()
			if err != nil || !strings.Contains(string(b), "validates") {
				t.Errorf("xmllint: the sitemap of %s does not validate (%v):\n%s", out, err, b)
			}
		})
	}
	// The checker saw the rows' text: the story with control characters
	// is there, each replaced by U+FFFD.
	for _, out := range []string{"_site", "_prod"} {
		b, err := os.ReadFile(filepath.Join(dir, out, filepath.FromSlash(story)))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "Bell\uFFFD nul\uFFFD esc\uFFFD del\uFFFD c1\uFFFD\uFFFD end"); n < 2 {
			t.Errorf("%s/%s: the title and summary with control characters replaced by U+FFFD appear %d times, want 2 or more", out, story, n)
		}
	}
}

// TestValidatorsFail: the checkers used above do reject what they must,
// so that a pass means something: the Nu checker an h3 after an h1 in a
// section-less page is fine but a raw control character is not; xmllint a
// sitemap with a relative loc.
func TestValidatorsFail(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("starts Java: not in -short")
	}
	java := testenv.Java(t)
	xmllint := testenv.Xmllint(t)
	vnu := filepath.Join(testenv.NPMPackage(t, vnuJar), "build", "dist", "vnu.jar")
	xsd := filepath.Join(testenv.NPMPackage(t, sitemapPkg), "schema", "sitemap.xsd")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.html")
	os.WriteFile(bad, []byte("<!doctype html><html lang=en><title>t</title><p>bell \x07</p></html>"), 0o644)
	if b, err := exec.Command(java, "-jar", vnu, "--errors-only", "--format", "gnu", bad).CombinedOutput(); err == nil || !strings.Contains(string(b), "error") {
		t.Errorf("the Nu checker accepted a page with a control character (%v):\n%s", err, b)
	}
	sm := filepath.Join(dir, "sitemap.xml")
	os.WriteFile(sm, []byte(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/x/</loc><lastmod>yesterday</lastmod></url></urlset>`), 0o644)
	if b, err := exec.Command(xmllint, "--noout", "--schema", xsd, sm).CombinedOutput(); err == nil {
		t.Errorf("xmllint accepted a sitemap with a relative loc and a bad lastmod:\n%s", b)
	}
}
