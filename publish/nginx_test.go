package publish

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
)

// brotliModule is where Debian's libnginx-mod-http-brotli-static puts
// the module of brotli_static.
const brotliModule = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"

// TestNginxServesSiblings runs real nginx with the server block of
// docs/deploy-nginx.md on a folder that bake publish wrote from a build
// with precompressed siblings: a client that accepts br gets the .br
// sibling's bytes, one that accepts gzip the .gz's, one that accepts
// neither the file, each with Vary: Accept-Encoding.
func TestNginxServesSiblings(t *testing.T) {
	nginx := testenv.Nginx(t)
	if _, err := os.Stat(brotliModule); err != nil {
		msg := "no " + brotliModule + " for brotli_static; install Debian's libnginx-mod-http-brotli-static (scripts/test does, as root)"
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out := filepath.Join(t.TempDir(), "_site")
	target := t.TempDir()
	big := "<!doctype html><p>" + strings.Repeat("flat files are fast ", 200) + "</p>"
	css := strings.Repeat("body { color: red }\n", 100)
	buildPrecompressed(t, out, site{"/": big, "/posts/": big + "posts", "/app.css": css, "/small/": "<p>s</p>"})
	publish(t, openFolder(t, target, false), out, false)

	doc, err := os.ReadFile(filepath.Join("..", "docs", "deploy-nginx.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```nginx\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/deploy-nginx.md has no ```nginx block")
	}
	addr := testenv.FreeAddr(t)
	block := string(m[1])
	for old, new := range map[string]string{"listen 80;": "listen " + addr + ";", "root /srv/www;": "root " + target + ";"} {
		if strings.Count(block, old) != 1 {
			t.Fatalf("docs/deploy-nginx.md's server block has %q %d times, want once", old, strings.Count(block, old))
		}
		block = strings.Replace(block, old, new, 1)
	}
	dir := t.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "load_module %s;\ndaemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n", brotliModule, dir, dir)
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot read the test's folders.
		u, _ := user.Current()
		g, _ := user.LookupGroupId(u.Gid)
		fmt.Fprintf(&conf, "user %s %s;\n", u.Username, g.Name)
	}
	fmt.Fprintf(&conf, "events { worker_connections 64; }\nhttp {\ninclude /etc/nginx/mime.types;\naccess_log off;\n")
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&conf, "%s_temp_path %s/%s;\n", tmp, dir, tmp)
	}
	conf.WriteString(block + "\n}\n")
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.StartProcess(t, exec.Command(nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", file), addr)

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		path, ae, encoding, body string
	}{
		{"/", "br, gzip", "br", read("index.html.br")},
		{"/", "gzip", "gzip", read("index.html.gz")},
		{"/", "", "", big},
		{"/posts/", "gzip, deflate, br", "br", read("posts/index.html.br")},
		{"/app.css", "gzip", "gzip", read("app.css.gz")},
		{"/app.css", "br", "br", read("app.css.br")},
		{"/small/", "gzip, br", "", "<p>s</p>"}, // no sibling, below gzip_min_length
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
		if tt.ae != "" {
			req.Header.Set("Accept-Encoding", tt.ae)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != tt.encoding || string(body) != tt.body {
			t.Errorf("GET %s (Accept-Encoding %q): %d, Content-Encoding %q, body is the expected bytes: %v",
				tt.path, tt.ae, resp.StatusCode, resp.Header.Get("Content-Encoding"), string(body) == tt.body)
		}
		if tt.encoding != "" && resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s %s: Vary %q", tt.path, tt.encoding, resp.Header.Get("Vary"))
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Logf("nginx error log:\n%s", b)
	}
}
