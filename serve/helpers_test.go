package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/bakehq/bake"
	"github.com/klauspost/compress/gzip"
)

// t0 is the modification time of every test file; manifests are written an
// hour later.
var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// writeFiles writes files (slash names → bytes) under dir, all modified at t0.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, t0, t0); err != nil {
			t.Fatal(err)
		}
	}
}

// writeManifest writes the manifest of dir with entries, modified at mtime.
func writeManifest(t testing.TB, dir string, mtime time.Time, entries ...bake.Entry) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(bake.ManifestFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m := &bake.Manifest{Entries: entries}
	m.Sort()
	if err := bake.WriteManifest(&buf, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// entry returns the manifest entry of a file at URL path p with body.
func entry(p, body, typ string) bake.Entry {
	sum := sha256.Sum256([]byte(body))
	return bake.Entry{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)), Type: typ}
}

// sha returns the strong ETag of body.
func sha(body string) string {
	sum := sha256.Sum256([]byte(body))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

func newFileServer(t testing.TB, dir string) *FileServer {
	t.Helper()
	s, err := NewFileServer(dir, FileServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do serves one request with h and returns the response, body read.
func do(t testing.TB, h http.Handler, method, target string, header map[string]string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// decode undoes a Content-Encoding.
func decode(t testing.TB, encoding, body string) string {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatalf("gunzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader([]byte(body)))
	default:
		t.Fatalf("unknown encoding %q", encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return string(b)
}

func gzipped(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func brotlied(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	bw := brotli.NewWriter(&buf)
	bw.Write([]byte(s))
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
