package publish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"gocloud.dev/blob"
)

// flaky is a loopback proxy in front of the S3 server that fails a share of
// requests: a 500, a reset connection, or a stall before answering.
type flaky struct {
	mu    sync.Mutex
	rng   *rand.Rand
	share float64
	proxy *httputil.ReverseProxy

	requests, injected int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fail, kind := f.rng.Float64() < f.share, f.rng.IntN(3)
	f.requests++
	if fail {
		f.injected++
	}
	f.mu.Unlock()
	if fail {
		switch kind {
		case 0:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected</Message></Error>`)
			return
		case 1:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						tc.SetLinger(0) // a reset, not a clean close
					}
					conn.Close()
					return
				}
			}
		case 2:
			time.Sleep(50 * time.Millisecond)
		}
	}
	f.proxy.ServeHTTP(w, r)
}

var cssLink = regexp.MustCompile(`href="/(assets/[^"]+)"`)

// checkConsistent fails t if a page in the bucket links a stylesheet that
// is not there: the one thing a publish must never leave behind.
func checkConsistent(t *testing.T, b *blob.Bucket) {
	t.Helper()
	ctx := context.Background()
	it := b.List(&blob.ListOptions{})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		if !strings.HasSuffix(obj.Key, ".html") {
			continue
		}
		data, err := b.ReadAll(ctx, obj.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cssLink.FindAllSubmatch(data, -1) {
			if ok, _ := b.Exists(ctx, string(m[1])); !ok {
				t.Fatalf("%s links %s, which is missing", obj.Key, m[1])
			}
		}
	}
}

// TestPublishSurvivesFaults publishes two versions of a site through a proxy
// that fails 60% of the requests: after every attempt, finished or not,
// no page links a missing asset, and re-running converges to the build.
func TestPublishSurvivesFaults(t *testing.T) {
	t.Parallel()
	srv := s3Setup(t)
	target, _ := url.Parse(srv.endpoint)
	proxy := &flaky{rng: rand.New(rand.NewPCG(1, 2)), share: 0.6, proxy: httputil.NewSingleHostReverseProxy(target)}
	front := httptest.NewServer(proxy)
	defer front.Close()
	ctx := context.Background()
	flakyBucket := srv.open(t, front.URL)
	defer flakyBucket.Close()
	direct := srv.open(t, srv.endpoint)
	defer direct.Close()

	out := filepath.Join(t.TempDir(), "_site")
	failed := 0
	for version := 1; version <= 3; version++ {
		css := fmt.Sprintf("/assets/site.%08x.css", version*0x1111)
		s := site{css: fmt.Sprintf("body{--v:%d}", version)}
		for i := range 10 {
			s[fmt.Sprintf("/p/%d/", i+version)] = fmt.Sprintf(`<link rel="stylesheet" href="%s"><p>v%d page %d</p>`, css, version, i)
		}
		buildSite(t, out, s)
		done := false
		for attempt := 1; attempt <= 60 && !done; attempt++ {
			err := tryPublish(ctx, flakyBucket, out)
			checkConsistent(t, direct)
			done = err == nil
			if err != nil {
				failed++
			}
		}
		if !done {
			t.Fatalf("version %d: 60 publishes through the flaky proxy all failed", version)
		}
		// Converged: through a clean connection there is nothing left to do,
		// and the bucket holds exactly the build.
		idx, err := output.OpenIndex(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := ReadRemote(ctx, direct)
		if err != nil || remote == nil {
			t.Fatalf("remote manifest: %v", err)
		}
		plan, err := Diff(idx.Entries(ctx), remoteSeq(remote), DiffOptions{})
		idx.Close()
		if err != nil || !plan.Empty() {
			t.Fatalf("version %d: after success the plan is %s (%v)", version, plan.Summary(), err)
		}
		for p := range s {
			key, _ := bake.FileName(p)
			if ok, _ := direct.Exists(ctx, key); !ok {
				t.Errorf("version %d: %s missing", version, key)
			}
		}
		if version > 1 {
			// The old stylesheet stays, for pages cached before the
			// publish, and is listed for bake prune (see RetainedKey).
			old := fmt.Sprintf("assets/site.%08x.css", (version-1)*0x1111)
			if ok, _ := direct.Exists(ctx, old); !ok {
				t.Errorf("version %d: old asset %s deleted; it must stay until bake prune", version, old)
			}
			list, err := readRetained(ctx, direct)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(list, func(r retained) bool { return r.Key == old }) {
				t.Errorf("version %d: old asset %s not listed in %s: %v", version, old, RetainedKey, list)
			}
		}
	}
	t.Logf("proxy: %d requests, %d faults injected", proxy.requests, proxy.injected)
	if failed == 0 {
		t.Fatal("no publish was interrupted: the faults did not get through, nothing was tested")
	}
	t.Logf("%d publishes were interrupted by injected faults", failed)
}

func remoteSeq(m *bake.Manifest) func(func(bake.Entry, error) bool) {
	return func(yield func(bake.Entry, error) bool) {
		for _, e := range m.Entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// tryPublish is one bake publish with few retries, so that faults get through.
func tryPublish(ctx context.Context, b *blob.Bucket, out string) error {
	plan, resume, err := Prepare(ctx, b, out, DiffOptions{})
	if err != nil {
		return err
	}
	_, err = Apply(ctx, b, plan, ApplyOptions{Dir: out, Compress: true, Retries: -1, Workers: 4, Resume: resume})
	return err
}
