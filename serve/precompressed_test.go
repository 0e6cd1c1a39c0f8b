package serve

import (
	"context"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/internal/precompress"
)

type pages map[string]string // path → HTML or CSS

func (s pages) Pages(ctx context.Context) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		for p, body := range s {
			ct := "text/html; charset=utf-8"
			if strings.HasSuffix(p, ".css") {
				ct = "text/css; charset=utf-8"
			}
			page := &bake.Page{Path: p, ContentType: ct, Render: func(ctx context.Context, w io.Writer) error {
				_, err := io.WriteString(w, body)
				return err
			}}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// TestServesBuildSiblings serves a build made with precompressed siblings:
// each coding a client accepts is the sibling's bytes, whatever the cache
// holds, with the right length, ETag, Vary, HEAD and ranges (of the
// encoded bytes); with the reload script, HTML is compressed on the fly
// (the siblings lack the script) while CSS still uses its siblings.
func TestServesBuildSiblings(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	html := "<html><body>" + strings.Repeat("<p>flat files are fast</p>\n", 200) + "</body></html>"
	css := strings.Repeat("p { color: red }\n", 200)
	finish := build.FinishOptions{Precompress: precompress.Options{Codings: []string{precompress.Gzip, precompress.Brotli}}}
	if _, err := build.Build(context.Background(), pages{"/": html, "/site.css": css}, build.Options{Output: out, Finish: finish}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, cache := range []int64{-1, 0} {
		for _, reload := range []bool{false, true} {
			s, err := NewFileServer(out, FileServerOptions{CacheBytes: cache, Reload: reload})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct{ path, file, body string }{{"/", "index.html", html}, {"/site.css", "site.css", css}} {
				for _, cd := range precompress.Codings {
					name := tt.path + " " + cd + " reload=" + strconv.FormatBool(reload) + " cache=" + strconv.FormatInt(cache, 10)
					fromSibling := !(reload && tt.file == "index.html")
					sib := read(tt.file + precompress.Ext(cd))
					want := tt.body
					if !fromSibling {
						want = string(insertScript([]byte(tt.body)))
					}
					for range 2 { // the second from the cache, when on
						resp, body := do(t, s, "GET", tt.path, map[string]string{"Accept-Encoding": cd})
						if resp.Header.Get("Content-Encoding") != cd || resp.Header.Get("Vary") != "Accept-Encoding" {
							t.Fatalf("%s: Content-Encoding %q, Vary %q", name, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
						}
						if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
							t.Errorf("%s: Content-Length %s, body %d bytes", name, cl, len(body))
						}
						if fromSibling && body != sib {
							t.Errorf("%s: body is not the sibling's bytes", name)
						}
						if got := decode(t, cd, body); got != want {
							t.Errorf("%s: body decodes to other bytes", name)
						}
						tag := resp.Header.Get("ETag")
						if !strings.HasSuffix(tag, map[string]string{"gzip": `-gz"`, "br": `-br"`}[cd]) {
							t.Errorf("%s: ETag %s", name, tag)
						}
						head, hbody := do(t, s, "HEAD", tt.path, map[string]string{"Accept-Encoding": cd})
						if hbody != "" || head.Header.Get("Content-Length") != strconv.Itoa(len(body)) || head.Header.Get("ETag") != tag {
							t.Errorf("%s: HEAD Content-Length %s ETag %s", name, head.Header.Get("Content-Length"), head.Header.Get("ETag"))
						}
						notMod, _ := do(t, s, "GET", tt.path, map[string]string{"Accept-Encoding": cd, "If-None-Match": tag})
						if notMod.StatusCode != 304 {
							t.Errorf("%s: If-None-Match its ETag: %d", name, notMod.StatusCode)
						}
					}
					if !fromSibling {
						continue
					}
					part, body := do(t, s, "GET", tt.path, map[string]string{"Accept-Encoding": cd, "Range": "bytes=0-9"})
					wantRange := "bytes 0-9/" + strconv.Itoa(len(sib))
					if part.StatusCode != 206 || part.Header.Get("Content-Range") != wantRange || body != sib[:10] || part.Header.Get("Content-Encoding") != cd {
						t.Errorf("%s: range: %d %q %q, want 206 %q, the sibling's first 10 bytes", name, part.StatusCode, part.Header.Get("Content-Range"), part.Header.Get("Content-Encoding"), wantRange)
					}
				}
				// No coding accepted: the file itself.
				resp, body := do(t, s, "GET", tt.path, nil)
				if resp.Header.Get("Content-Encoding") != "" || strings.ReplaceAll(body, reloadScript, "") != tt.body {
					t.Errorf("%s identity: Content-Encoding %q", tt.path, resp.Header.Get("Content-Encoding"))
				}
			}
		}
	}
}
