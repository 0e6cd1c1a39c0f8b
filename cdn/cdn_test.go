package cdn

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/publish"
	"github.com/google/go-cmp/cmp"
)

func TestPaths(t *testing.T) {
	plan := &publish.Plan{
		Assets:  publish.ListOf(publish.Change{Key: "app.css", Reason: publish.ReasonChanged}, publish.Change{Key: "new.css", Reason: publish.ReasonNew}),
		Pages:   publish.ListOf(publish.Change{Key: "index.html", Reason: publish.ReasonChanged}, publish.Change{Key: "café/index.html", Reason: publish.ReasonType}),
		Deletes: []publish.Change{{Key: "old/index.html", Entry: bake.Entry{Path: "/old/"}}},
	}
	want := []string{"/", "/app.css", "/caf%C3%A9/", "/caf%C3%A9/index.html", "/index.html", "/old/", "/old/index.html"}
	got, err := Paths(plan, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if got, _ := Paths(plan, 6); !cmp.Equal(got, []string{"/*"}) {
		t.Errorf("past 6 paths: %q, want /*", got)
	}
}

func TestBatches(t *testing.T) {
	paths := make([]string, 7)
	for i := range paths {
		paths[i] = fmt.Sprintf("/p%d", i)
	}
	tests := []struct {
		size, above int
		want        []int // batch sizes
		wildcard    bool
	}{
		{3, 100, []int{3, 3, 1}, false},
		{10, 100, []int{7}, false},
		{3, 5, []int{1}, true},
	}
	for _, tt := range tests {
		got := Batches(paths, tt.size, tt.above)
		var sizes []int
		for _, b := range got {
			sizes = append(sizes, len(b))
		}
		if diff := cmp.Diff(tt.want, sizes); diff != "" {
			t.Errorf("size %d above %d: (-want +got):\n%s", tt.size, tt.above, diff)
		}
		if tt.wildcard && got[0][0] != "/*" {
			t.Errorf("want a wildcard, got %v", got)
		}
	}
	if Batches(nil, 3, 5) != nil {
		t.Error("no paths should make no batch")
	}
}

// TestCloudFrontRequests runs the AWS SDK against a loopback stand-in for
// the CloudFront API and checks the invalidation requests it receives.
func TestCloudFrontRequests(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var mu sync.Mutex
	var got [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/distribution/E2EXAMPLE/invalidation") {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var batch struct {
			Paths []string `xml:"Paths>Items>Path"`
			Ref   string   `xml:"CallerReference"`
		}
		if err := xml.Unmarshal(body, &batch); err != nil || batch.Ref == "" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, batch.Paths)
		n := len(got)
		mu.Unlock()
		w.Header().Set("Location", "https://cloudfront.example/invalidation/I"+fmt.Sprint(n))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I%d</Id><Status>InProgress</Status><CreateTime>2026-11-22T07:00:00Z</CreateTime></Invalidation>`, n)
	}))
	defer srv.Close()
	client := cloudfront.New(cloudfront.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("key", "secret", ""),
	})
	cf := &CloudFront{Client: client, Distribution: "E2EXAMPLE", BatchSize: 2, WildcardAbove: 10}
	ids, err := cf.Invalidate(context.Background(), []string{"/", "/a/", "/b/"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"/", "/a/"}, {"/b/"}}, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"I1", "I2"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}
