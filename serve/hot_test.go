package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFileServerLoadsOncePerChange sends bursts of concurrent requests, as
// wrk does: the index is read once a change, not once a request (reading
// it used to look like a change, and the cache reloaded for seconds).
func TestFileServerLoadsOncePerChange(t *testing.T) {
	dir, files := testSite(t)
	s := newFileServer(t, dir)
	clock := time.Now().Add(time.Hour) // every index file older than the racy window
	s.manifest.now = func() time.Time { return clock }
	burst := func() {
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				resp, body := do(t, s, "GET", "/", nil)
				if resp.StatusCode != 200 || body != files["index.html"] {
					t.Errorf("GET /: %d %q", resp.StatusCode, body)
				}
			})
		}
		wg.Wait()
	}
	burst()
	// Opening an index written with journal_mode=off makes it a WAL
	// database, which rewrites its header once: two loads at most.
	first := s.manifest.loads.Load()
	if first < 1 || first > 2 {
		t.Errorf("first burst: %d loads of the index, want 1 or 2", first)
	}
	burst()
	burst()
	if n := s.manifest.loads.Load(); n > first+1 {
		t.Errorf("after three bursts on an unchanged index: %d loads, want at most %d", n, first+1)
	}
	settled := s.manifest.loads.Load()
	burst()
	if n := s.manifest.loads.Load(); n != settled {
		t.Errorf("settled: %d loads, want %d", n, settled)
	}
	updateIndex(t, dir, entry("/", files["index.html"], "text/html; charset=utf-8"))
	burst()
	if n := s.manifest.loads.Load(); n < settled+1 || n > settled+2 {
		t.Errorf("after a commit: %d loads, want %d or %d", n, settled+1, settled+2)
	}
}

// TestFileServerCacheSeesNewBytes replaces a cached file as builds do (a
// new file renamed over it) and in place, and swaps the whole folder.
func TestFileServerCacheSeesNewBytes(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "_site")
	writeFiles(t, dir, map[string]string{"a.css": strings.Repeat("a", 2000)})
	s := newFileServer(t, dir)
	get := func(ae string) string {
		resp, body := do(t, s, "GET", "/a.css", map[string]string{"Accept-Encoding": ae})
		return decode(t, resp.Header.Get("Content-Encoding"), body)
	}
	var got []string
	got = append(got, get(""), get("gzip"))
	p := filepath.Join(dir, "a.css")
	if err := os.WriteFile(p+".tmp", []byte(strings.Repeat("b", 2000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	got = append(got, get(""), get("br"))
	if err := os.WriteFile(p, []byte(strings.Repeat("c", 2001)), 0o644); err != nil {
		t.Fatal(err)
	}
	got = append(got, get("gzip"))
	next := filepath.Join(tmp, "next")
	writeFiles(t, next, map[string]string{"a.css": strings.Repeat("d", 2000)})
	if err := os.Rename(dir, filepath.Join(tmp, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	got = append(got, get(""))
	for i := range got {
		got[i] = got[i][:1] + "×" + string(rune('0'+len(got[i])%10))
	}
	want := []string{"a×0", "a×0", "b×0", "b×0", "c×1", "d×0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bodies (first byte × length mod 10) (-want +got):\n%s", diff)
	}
}

func TestFileCacheBounded(t *testing.T) {
	c := newFileCache(10_000)
	for i := range 100 {
		name := strings.Repeat("x", i+1)
		c.put(&cachedFile{key: name, name: name, body: make([]byte, 1000)})
		if c.bytes > c.max {
			t.Fatalf("after %d files: %d bytes cached, limit %d", i+1, c.bytes, c.max)
		}
	}
	if n := len(c.files); n == 0 || n > 7 {
		t.Errorf("%d files cached, want 1 to 7 of 1.5 KB in 10 KB", n)
	}
	// The file just used survives the next insertions more often than not;
	// the newest one always does.
	c.put(&cachedFile{key: "new", name: "new", body: make([]byte, 1000)})
	if c.files["new"] == nil {
		t.Error("the file just added was evicted")
	}
}

// discard is a ResponseWriter that keeps nothing, so that benchmarks
// measure the handler.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkFileServerHit is the hot path: a page served again, plain and
// gzip, with the cache and without.
func BenchmarkFileServerHit(b *testing.B) {
	dir, _ := testSite(b)
	for _, bc := range []struct {
		name  string
		ae    string
		cache int64
	}{
		{"cached/plain", "", 0},
		{"cached/gzip", "gzip, deflate, br", 0},
		{"uncached/plain", "", -1},
		{"uncached/gzip", "gzip, deflate, br", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := NewFileServer(dir, FileServerOptions{CacheBytes: bc.cache})
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/style.css", nil)
			if bc.ae != "" {
				r.Header.Set("Accept-Encoding", bc.ae)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discard{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					s.ServeHTTP(w, r)
				}
			})
		})
	}
}

// TestFileServerRecheck checks the window in which a stat stands: a file
// or index changed by another process is seen once Recheck has passed
// since the last look, and at once after Changed.
func TestFileServerRecheck(t *testing.T) {
	const feed = `<?xml version="1.0"?><feed/>`
	dir := filepath.Join(t.TempDir(), "_site")
	writeFiles(t, dir, map[string]string{"a.css": strings.Repeat("a", 2000), "feed": feed})
	writeIndex(t, dir, t0.Add(time.Hour), entry("/feed", feed, "application/rss+xml"))
	s, err := NewFileServer(dir, FileServerOptions{Recheck: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(int64(10 * time.Second))
	s.looks.clock = clock.Load
	advance := func() { clock.Add(int64(time.Millisecond + 1)) }
	replace := func(body string) {
		t.Helper()
		p := filepath.Join(dir, "a.css")
		if err := os.WriteFile(p+".tmp", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	get := func() string {
		resp, body := do(t, s, "GET", "/a.css", nil)
		if resp.StatusCode != 200 {
			return strconv.Itoa(resp.StatusCode)
		}
		return body[:1]
	}
	typ := func() string {
		resp, _ := do(t, s, "GET", "/feed", nil)
		return resp.Header.Get("Content-Type")
	}

	var got []string
	got = append(got, get(), typ())
	replace(strings.Repeat("b", 2000))
	writeIndex(t, dir, t0.Add(2*time.Hour), entry("/feed", feed, "application/atom+xml"))
	got = append(got, get(), typ()) // within the window: as looked before
	advance()
	got = append(got, get(), typ())
	replace(strings.Repeat("c", 2000))
	got = append(got, get())
	s.Changed()
	clock.Add(1)
	got = append(got, get())
	if err := os.Remove(filepath.Join(dir, "a.css")); err != nil {
		t.Fatal(err)
	}
	clock.Add(1)
	got = append(got, get())
	advance()
	got = append(got, get())
	want := []string{
		"a", "application/rss+xml",
		"a", "application/rss+xml",
		"b", "application/atom+xml",
		"b", "c",
		"c", "404",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bodies and types, in turn (-want +got):\n%s", diff)
	}
}

// TestAcceptedCodings checks the one-pass parser of hits against accepts,
// on headers of every form, one value or several.
func TestAcceptedCodings(t *testing.T) {
	parts := []string{"gzip", "GZIP", "br", "Br;q=0", "gzip;q=0", "gzip; q=0.001", "deflate", "*", "*;q=0",
		"br;q=bad", " br ; q=1 ", "identity", "", "zstd;q=0.5", "gzip;level=1;q=0"}
	var headers [][]string
	for _, a := range parts {
		headers = append(headers, []string{a})
		for _, b := range parts {
			headers = append(headers, []string{a + ", " + b}, []string{a, b})
			for _, c := range []string{"*", "br;q=0", "gzip"} {
				headers = append(headers, []string{a + "," + b + "," + c})
			}
		}
	}
	// The values answered from commonCodings' table, as they come and
	// within longer headers.
	for v := range commonCodings {
		headers = append(headers, []string{v}, []string{v + ", identity"}, []string{v, "br;q=0"})
	}
	for _, values := range headers {
		got := acceptedCodings(values)
		for i, e := range encodings {
			if want := accepts(strings.Join(values, ","), e.name); got[i] != want {
				t.Errorf("acceptedCodings(%q)[%s] = %v, accepts says %v", values, e.name, got[i], want)
			}
		}
	}
}

// BenchmarkFileServerLookup is the hit of another HTTP server
// (internal/fastserve): Lookup alone, on every CPU at once.
func BenchmarkFileServerLookup(b *testing.B) {
	dir, _ := testSite(b)
	s, err := NewFileServer(dir, FileServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s.ServeHTTP(&discard{h: http.Header{}}, httptest.NewRequest("GET", "/style.css", nil))
	ctx := context.Background()
	if _, ok := s.Lookup(ctx, "/style.css", "gzip, deflate, br"); !ok {
		b.Fatal("not in memory")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := s.Lookup(ctx, "/style.css", "gzip, deflate, br"); !ok {
				b.Fatal("not in memory")
			}
		}
	})
}
