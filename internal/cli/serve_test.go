package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Reset empties the buffer.
func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// startServe runs bake serve in-process on a free port and returns its URL.
func startServe(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--poll", "50ms"}, args...), Stdio{In: strings.NewReader(""), Out: out, Err: errb})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop on cancel")
		}
	})
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:[0-9]+)/`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], errb
		}
	}
	t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
	return "", nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReload reads the event stream until a reload event arrives.
func waitReload(t *testing.T, events *bufio.Reader, what string) {
	t.Helper()
	got := make(chan bool, 1)
	go func() {
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				got <- false
				return
			}
			if strings.HasPrefix(line, "event: reload") {
				got <- true
				return
			}
		}
	}()
	select {
	case ok := <-got:
		if !ok {
			t.Fatalf("event stream ended before the reload after %s", what)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no reload event after %s", what)
	}
}

// TestServeRebuildsAndReloads edits a template and a row while bake serve
// runs, and expects a rebuild, a reload event, and the new content.
// TestServeRebuildsAndReloads: an edit to a template or a row reloads
// the page with the change. The build is incremental after a template
// edit, and after a row edit when change capture names the row; without
// capture a row edit makes a full build.
func TestServeRebuildsAndReloads(t *testing.T) {
	for _, mode := range []string{"build", "capture", "live"} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "site")
			if err := writeScaffold(dir); err != nil {
				t.Fatal(err)
			}
			args := []string{"-C", dir}
			switch mode {
			case "live":
				args = append(args, "--live")
			case "capture":
				var out, errb bytes.Buffer
				if code := Run(context.Background(), []string{"watch", "--install", "-C", dir}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
					t.Fatalf("watch --install: %d %s", code, errb.String())
				}
			}
			base, logs := startServe(t, args...)
			built := func(what, want string) {
				t.Helper()
				if mode == "live" {
					return
				}
				re := regexp.MustCompile(`rebuilt .*build="` + want)
				if !re.MatchString(logs.String()) {
					t.Errorf("after %s: no %q build in the log:\n%s", what, want, logs.String())
				}
			}
			if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "<h1>Latest</h1>") || !strings.Contains(body, "/_bake/reload") {
				t.Fatalf("GET / = %d %q", code, body)
			}
			resp, err := http.Get(base + "/_bake/reload")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			events := bufio.NewReader(resp.Body)

			home := filepath.Join(dir, "templates", "home.html")
			src, _ := os.ReadFile(home)
			os.WriteFile(home, []byte(strings.Replace(string(src), "<h1>Latest</h1>", "<h1>Newest</h1>", 1)), 0o644)
			waitReload(t, events, "a template edit")
			if _, body := get(t, base+"/"); !strings.Contains(body, "<h1>Newest</h1>") {
				t.Errorf("after the template edit: %q", body)
			}
			built("the template edit", "incremental")
			logs.Reset()

			db, err := sql.Open("sqlite", filepath.Join(dir, "site.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE posts SET title = 'Edited title' WHERE slug = 'hello-world'`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			waitReload(t, events, "a row update")
			if _, body := get(t, base+"/posts/hello-world/"); !strings.Contains(body, "<h1>Edited title</h1>") {
				t.Errorf("after the row update: %q", body)
			}
			built("the row update", map[string]string{"build": "full", "capture": "incremental"}[mode])
			if code, body := get(t, base+"/no/such/"); code != 404 || !strings.Contains(body, "Page not found") {
				t.Errorf("missing page = %d %q", code, body)
			}
		})
	}
}

// TestServeBindsFirst: a port in use is said at once, before any build.
func TestServeBindsFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeItemsSite(t, dir, 20, "item ")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errb syncBuffer
	code := Run(context.Background(), []string{"serve", "-C", dir, "--addr", ln.Addr().String()}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code == 0 || !strings.Contains(errb.String(), "address already in use") {
		t.Fatalf("exit %d, stderr %q; want an error naming the address in use", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "_site")); err == nil {
		t.Error("serve built the site before binding its port")
	}
}
