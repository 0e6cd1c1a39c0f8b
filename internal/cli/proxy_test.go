package cli

import (
	"bytes"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/testenv"
)

// TestProxyPagesArePublished warms pages from a Go origin into a site with
// only [site]: the saved page is in bake manifest, bake publish copies it
// to a folder, bake purge drops it.
func TestProxyPagesArePublished(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/posts/hello/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<h1>hello from the origin</h1>")
	}))
	defer origin.Close()
	dir := t.TempDir()
	writeSiteFiles(t, dir, map[string]string{"bake.toml": "[site]\ntitle = \"proxied\"\n"})

	cmd := bakeCommand(dir, "warm", "--origin", origin.URL, "--save", "/posts/**", "/posts/hello/", "/posts/gone/", "/about/")
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("bake warm: exit %d (%v), want 1 (two pages not saved)\n%s", code, err, out)
	}
	want := "/posts/hello/\t200\tsaved\n/posts/gone/\t404\tnot saved: status 404 Not Found\n/about/\t0\tnot saved: matches no save pattern\n"
	if string(out) != want {
		t.Errorf("bake warm printed:\n%s\nwant:\n%s", out, want)
	}

	manifest := runBake(t, dir, "manifest")
	if !strings.Contains(manifest, `"path":"/posts/hello/"`) || !strings.Contains(manifest, `"route":"proxy"`) || !strings.Contains(manifest, `"deps":["url:/posts/hello/"]`) {
		t.Errorf("manifest lacks the saved page:\n%s", manifest)
	}
	target := filepath.Join(t.TempDir(), "www")
	runBake(t, dir, "publish", "--to", target)
	got, err := os.ReadFile(filepath.Join(target, "posts", "hello", "index.html"))
	if err != nil || string(got) != "<h1>hello from the origin</h1>" {
		t.Errorf("published page: %q, %v", got, err)
	}

	if out := runBake(t, dir, "purge", "/posts/hello/"); out != "/posts/hello/\n" {
		t.Errorf("bake purge printed %q", out)
	}
	if manifest := runBake(t, dir, "manifest"); strings.Contains(manifest, "/posts/hello/") {
		t.Errorf("purged page still in the manifest:\n%s", manifest)
	}
	// Purged already: nothing on stdout, and a person is told so.
	again := bakeCommand(dir, "purge", "/posts/hello/")
	var stderr bytes.Buffer
	again.Stderr = &stderr
	if out, err := again.Output(); err != nil || len(out) != 0 || !strings.Contains(stderr.String(), "nothing purged: no page the proxy saved in "+filepath.Join(dir, "_site")+" is at /posts/hello/") {
		t.Errorf("bake purge of a purged page: %v, stdout %q, stderr %q", err, out, stderr.String())
	}
}

func TestLoadProxySite(t *testing.T) {
	tests := []struct {
		name, toml, wantErr string
	}{
		{name: "site only", toml: "[site]\n"},
		{name: "proxy", toml: "[site]\noutput = \"out\"\n[proxy]\norigin = \"http://127.0.0.1:8000\"\nsave = [\"/**\"]\nttl = \"10m\"\n[[proxy.purge]]\ntable = \"posts\"\npaths = [\"/posts/{slug}/\"]\n"},
		{name: "unknown proxy key", toml: "[proxy]\norigin = \"http://x\"\nsaev = [\"/\"]\n", wantErr: "saev"},
		{name: "bad purge path", toml: "[proxy]\n[[proxy.purge]]\ntable = \"posts\"\npaths = [\"/posts/{slug/\"]\n", wantErr: "unbalanced"},
		{name: "purge without paths", toml: "[proxy]\n[[proxy.purge]]\ntable = \"posts\"\n", wantErr: "no paths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSiteFiles(t, dir, map[string]string{"bake.toml": tt.toml})
			s, err := loadProxySite(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "proxy" && (filepath.Base(s.out) != "out" || s.cfg.TTL != "10m" || len(s.cfg.Purge) != 1) {
				t.Errorf("read %+v", s)
			}
		})
	}
}

// TestProxyPurgesChangedRows runs bake proxy in front of a Go app whose
// pages come from an SQLite database: after bake proxy --install, a row
// update purges exactly the pages [[proxy.purge]] maps the row to, and
// the next request shows the new row.
func TestProxyPurgesChangedRows(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "blog.db")
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE posts (id INTEGER PRIMARY KEY, slug TEXT, title TEXT); INSERT INTO posts VALUES (1, 'a', 'A'), (2, 'b', 'B')"); err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var title string
		err := db.QueryRow("SELECT group_concat(title, ';') FROM posts").Scan(&title)
		if slug, ok := strings.CutPrefix(r.URL.Path, "/posts/"); ok {
			err = db.QueryRow("SELECT title FROM posts WHERE slug = ?", strings.Trim(slug, "/")).Scan(&title)
		}
		if err != nil {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "<p>"+title+"</p>")
	}))
	defer origin.Close()
	writeSiteFiles(t, dir, map[string]string{"bake.toml": `[site]
[proxy]
origin = "` + origin.URL + `"
save = ["/**"]
database = "blog.db"
[[proxy.purge]]
table = "posts"
paths = ["/posts/{slug}/", "/"]
`})
	if out := runBake(t, dir, "proxy", "--install"); !strings.Contains(out, "change capture installed on posts") {
		t.Fatalf("bake proxy --install printed %q", out)
	}
	addr := testenv.FreeAddr(t)
	cmd := bakeCommand(dir, "proxy", "--addr", addr)
	testenv.StartProcess(t, cmd, addr)
	for _, p := range []string{"/posts/a/", "/posts/b/", "/"} {
		if resp, err := http.Get("http://" + addr + p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
	}
	savedPaths := func() string {
		var paths []string
		for line := range strings.Lines(runBake(t, dir, "manifest")) {
			if i := strings.Index(line, `"path":"`); i >= 0 {
				paths = append(paths, strings.SplitN(line[i+8:], `"`, 2)[0])
			}
		}
		return strings.Join(paths, " ")
	}
	if got := savedPaths(); got != "/ /posts/a/ /posts/b/" {
		t.Fatalf("saved %q", got)
	}
	// The saved pages depend on the rows their paths name, as a manifest
	// reader (bake build --explain, a purge) sees them.
	manifest := runBake(t, dir, "manifest")
	for _, want := range []string{`"deps":["row:posts/1","url:/posts/a/"]`, `"deps":["row:posts/2","url:/posts/b/"]`, `"deps":["table:posts","url:/"]`} {
		if !strings.Contains(manifest, want) {
			t.Errorf("manifest has no %s:\n%s", want, manifest)
		}
	}
	if _, err := db.Exec("UPDATE posts SET title = 'A, new' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for savedPaths() != "/posts/b/" {
		if time.Now().After(deadline) {
			t.Fatalf("after the update, saved %q; want /posts/b/ alone", savedPaths())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/posts/a/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "<p>A, new</p>" {
		t.Errorf("after purge: %q", body)
	}
}
