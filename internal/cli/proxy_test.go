package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
}

func TestLoadProxySite(t *testing.T) {
	tests := []struct {
		name, toml, wantErr string
	}{
		{name: "site only", toml: "[site]\n"},
		{name: "proxy", toml: "[site]\noutput = \"out\"\n[proxy]\norigin = \"http://127.0.0.1:8000\"\nsave = [\"/**\"]\nttl = \"10m\"\n[[proxy.purge]]\ntable = \"posts\"\npaths = [\"/posts/{slug}/\"]\n"},
		{name: "unknown proxy key", toml: "[proxy]\norigin = \"http://x\"\nsaev = [\"/\"]\n", wantErr: "saev"},
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
