package serve

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFileServerConfined checks that no request path serves a file from
// outside the build folder: a secret beside the folder, reachable through
// symlinks, "..", encoded slashes or precompressed siblings, never appears in
// a response.
func FuzzFileServerConfined(f *testing.F) {
	const secret = "S3CRET-c0ffee"
	tmp := f.TempDir()
	dir := filepath.Join(tmp, "site")
	writeFiles(f, tmp, map[string]string{
		"secret.txt":         secret,
		"private/index.html": secret,
		"private/page.html":  secret,
	})
	writeFiles(f, dir, map[string]string{
		"index.html":     "<html><body>home</body></html>",
		"a/index.html":   "a",
		"big.html":       strings.Repeat("<p>public</p>\n", 200),
		".bake/x":        "reserved",
		"404.html":       "not found",
		"a/b/c.css":      "p{}",
		".well-known/ok": "ok",
	})
	symlink(f, "../secret.txt", filepath.Join(dir, "link.txt"))
	symlink(f, "..", filepath.Join(dir, "up"))
	symlink(f, "../private", filepath.Join(dir, "private"))
	symlink(f, tmp, filepath.Join(dir, "abs"))
	symlink(f, "../secret.txt", filepath.Join(dir, "big.html.gz"))
	symlink(f, "../secret.txt", filepath.Join(dir, "big.html.br"))
	symlink(f, "../../secret.txt", filepath.Join(dir, "a", "index.html.gz"))
	s, err := NewFileServer(dir, FileServerOptions{})
	if err != nil {
		f.Fatal(err)
	}

	for _, seed := range []string{
		"/", "/a", "/a/", "/big.html", "/link.txt", "/up/secret.txt", "/up/private/",
		"/private", "/private/", "/private/page.html", "/abs/secret.txt", "/abs/site/../secret.txt",
		"/../secret.txt", "/..%2fsecret.txt", "/a/..%2f..%2fsecret.txt", "/%2e%2e/secret.txt",
		"//secret.txt", "/..\\secret.txt", "/.bake/x", "/.well-known/ok", "/up/site/index.html",
		"/a/b/../../../secret.txt", "secret.txt", "", "/a/./b/c.css", "/up%2fsecret.txt",
	} {
		f.Add(seed, "gzip, br")
		f.Add(seed, "")
	}
	f.Fuzz(func(t *testing.T, target, acceptEncoding string) {
		check := func(r *http.Request) {
			r.Header.Set("Accept-Encoding", acceptEncoding)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			body := w.Body.String()
			if strings.Contains(body, secret) {
				t.Fatalf("%q (path %q) served the secret beside the build folder", target, r.URL.Path)
			}
			if enc := w.Header().Get("Content-Encoding"); enc != "" && w.Code == 200 {
				if got := decode(t, enc, body); strings.Contains(got, secret) {
					t.Fatalf("%q (path %q) served the secret, %s-encoded", target, r.URL.Path, enc)
				}
			}
		}
		// The decoded path as a handler may get it, unclean...
		check(&http.Request{Method: "GET", URL: &url.URL{Path: target}, Header: http.Header{}})
		// ...and the request target as a client may send it.
		if strings.ContainsAny(target, " \r\n") {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			return
		}
		check(r)
	})
}
