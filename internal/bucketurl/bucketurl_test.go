package bucketurl

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"
)

// TestS3KeepsConnections: 32 writers at once to an S3 endpoint (a fake
// that accepts every PUT), 20 objects each with a pause between them (a
// worker renders the next file), dial about 32 connections, not one for
// most requests as with the AWS SDK's default client (10 kept idle).
func TestS3KeepsConnections(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	var conns, puts atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
		w.Header().Set("ETag", `"0"`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	url := "s3://bucket?region=us-east-1&use_path_style=true&endpoint=" + srv.URL
	for _, tc := range []struct {
		name string
		open func(context.Context, string) (*blob.Bucket, error)
		most int64
	}{
		{"Open", Open, 40},
		{"blob.OpenBucket (the SDK's client)", blob.OpenBucket, -1}, // for the log: it dials several hundred
	} {
		conns.Store(0)
		puts.Store(0)
		ctx := context.Background()
		b, err := tc.open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 32 {
			wg.Go(func() {
				for i := range 20 {
					if err := b.WriteAll(ctx, fmt.Sprintf("k/%d/%d", w, i), []byte("x"), nil); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(2 * time.Millisecond) // rendering the next: the connection is idle

				}
			})
		}
		wg.Wait()
		b.Close()
		t.Logf("%s: %d PUTs on %d connections", tc.name, puts.Load(), conns.Load())
		if puts.Load() != 640 {
			t.Fatalf("%s: %d PUTs, want 640", tc.name, puts.Load())
		}
		if tc.most > 0 && conns.Load() > tc.most {
			t.Errorf("%s: %d connections for 640 PUTs from 32 writers, want at most %d", tc.name, conns.Load(), tc.most)
		}
	}
}
