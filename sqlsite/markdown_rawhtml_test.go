package sqlsite_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/sqlsite"
)

// TestMarkdownTextLikeHTML: text of a row that Markdown reads as HTML
// ("Dear <NAME>") shows on the page as written, and the feed's content
// carries the same HTML as the page (issue 17).
func TestMarkdownTextLikeHTML(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := db.Exec("INSERT INTO posts VALUES (6, 'letter', 'Letter', 'news', 'Dear <NAME>, E = mc<sup>2</sup>. <script>alert(1)</script>', TRUE, '2026-04-01 00:00:00')"); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	const want = `<p>Dear &lt;NAME&gt;, E = mc<sup>2</sup>. &lt;script&gt;alert(1)&lt;/script&gt;</p>`
	page, err := os.ReadFile(filepath.Join(dir, "_site", "posts", "letter", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), want) {
		t.Errorf("page lacks %s:\n%s", want, page)
	}
	feed, err := os.ReadFile(filepath.Join(dir, "_site", "feed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(feed), "<content:encoded><![CDATA["+want+"\n]]></content:encoded>") {
		t.Errorf("feed content is not the page's HTML %s:\n%s", want, feed)
	}
}

// TestFeedContentControls: a control character in a row's Markdown is
// replaced in the feed's content as on the page (U+FFFD), so that the feed
// stays well-formed XML (RSS content is CDATA, which nothing escapes) and
// carries the page's HTML.
func TestFeedContentControls(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := db.Exec("INSERT INTO posts VALUES (6, 'ctl', 'Ctl', 'news', 'a\x02b\u0085c', TRUE, '2026-04-01 00:00:00')"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE posts SET body = replace(replace(body, '\\x02', char(2)), '\\u0085', char(133)) WHERE id = 6"); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	const want = "<p>a\uFFFDb\uFFFDc</p>"
	page, err := os.ReadFile(filepath.Join(dir, "_site", "posts", "ctl", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), want) {
		t.Errorf("page lacks %q:\n%q", want, page)
	}
	feed, err := os.ReadFile(filepath.Join(dir, "_site", "feed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(feed), "<![CDATA["+want+"\n]]>") {
		t.Errorf("feed content is not the page's HTML %q:\n%q", want, feed)
	}
	d := xml.NewDecoder(bytes.NewReader(feed))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("feed.xml is not well-formed: %v", err)
		}
	}
}

// TestFeedTextControls: a feed's titles, summaries and authors are shown
// as text in a reader's HTML, so they lose the control characters a page
// would (DEL and C1, which XML 1.0 allows but discourages; C0, which it
// forbids), as content does.
func TestFeedTextControls(t *testing.T) {
	t.Parallel()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := db.Exec("INSERT INTO posts VALUES (6, 'ctl', 'T' || char(1) || 'i' || char(127) || 't' || char(133) || 'l' || char(159) || 'e', 'news', 'Body', TRUE, '2026-04-01 00:00:00')"); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	const title = "T\uFFFDi\uFFFDt\uFFFDl\uFFFDe"
	for file, want := range map[string][]string{
		"feed.xml": {"<title>" + title + "</title>"},
		"atom.xml": {"<title>" + title + "</title>", "<summary>" + title + "</summary>"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, "_site", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q:\n%q", file, w, b)
			}
		}
	}
}
