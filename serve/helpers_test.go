package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"github.com/klauspost/compress/gzip"
)

// t0 is the modification time of every test file; indexes are written an
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

// writeIndex writes the index of dir with entries as a full build does (a
// new file renamed over the old one), modified at mtime.
func writeIndex(t testing.TB, dir string, mtime time.Time, entries ...bake.Entry) {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(dir, filepath.FromSlash(output.IndexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := p + ".new"
	w, err := output.NewIndexWriter(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b bake.Entry) int { return strings.Compare(a.Path, b.Path) })
	for _, e := range entries {
		if err := w.Add(ctx, &e, manifestLine(t, e)); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(p + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// updateIndex puts entries into the index of dir in place, as an
// incremental build does.
func updateIndex(t testing.TB, dir string, entries ...bake.Entry) {
	t.Helper()
	ctx := context.Background()
	idx, err := output.OpenIndex(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	var u output.Update
	for _, e := range entries {
		u.Put = append(u.Put, output.Record{Entry: e, Line: manifestLine(t, e)})
	}
	if err := idx.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
}

// manifestLine returns the manifest line of e, as a build writes it.
func manifestLine(t testing.TB, e bake.Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
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

// newFileServer returns a FileServer of dir that looks at the folder on
// every request (Recheck < 0): the tests change files and the index
// between requests well within the default Recheck. TestFileServerRecheck
// tests the window itself.
func newFileServer(t testing.TB, dir string) *FileServer {
	t.Helper()
	s, err := NewFileServer(dir, FileServerOptions{Recheck: -1})
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
