package cli

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestPublishInvalidatesCloudFront publishes twice with [publish] cloudfront
// set, against a loopback stand-in for the CloudFront API: the first
// publish (all new) invalidates nothing, the second exactly what changed.
func TestPublishInvalidatesCloudFront(t *testing.T) {
	var mu sync.Mutex
	var requests [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var batch struct {
			Paths []string `xml:"Paths>Items>Path"`
		}
		xml.Unmarshal(body, &batch)
		mu.Lock()
		requests = append(requests, batch.Paths)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress</Status><CreateTime>2026-11-22T07:00:00Z</CreateTime></Invalidation>`)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFRONT", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	dir := filepath.Join(t.TempDir(), "site")
	if err := writeScaffold(dir); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "bake.toml")
	src, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(src, []byte("\n[publish]\nurl = \""+filepath.Join(t.TempDir(), "www")+"\"\ncloudfront = \"E2EXAMPLE\"\n")...), 0o644)
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(context.Background(), append([]string{"-C", dir}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
			t.Fatalf("bake %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	run("build", "-q")
	run("publish")
	if len(requests) != 0 {
		t.Fatalf("a first publish (nothing cached yet) invalidated %v", requests)
	}
	tmpl := filepath.Join(dir, "templates", "post.html")
	src, _ = os.ReadFile(tmpl)
	os.WriteFile(tmpl, bytes.Replace(src, []byte("<article>"), []byte("<article class=\"post\">"), 1), 0o644)
	run("build", "-q")
	if out := run("publish"); !strings.Contains(out, "CloudFront E2EXAMPLE: invalidation I1") {
		t.Errorf("output: %s", out)
	}
	want := "/posts/caf%C3%A9-au-lait/ /posts/caf%C3%A9-au-lait/index.html /posts/hello-world/ /posts/hello-world/index.html /posts/how-it-works/ /posts/how-it-works/index.html"
	if len(requests) != 1 || strings.Join(requests[0], " ") != want {
		t.Errorf("invalidated %v, want [%s]", requests, want)
	}
}
