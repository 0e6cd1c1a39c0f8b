package publish

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/bakehq/bake/internal/testenv"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob"
)

// TestPublishToS3 publishes to a real S3-compatible server and checks the
// objects with the AWS SDK directly, not with bake's own code: bytes,
// Content-Type, Content-Encoding and Cache-Control; then a change and a
// removed page.
// s3Test is a fresh bucket on the test S3 server.
type s3Test struct {
	endpoint, region, name string
	client                 *s3.Client
}

// s3Setup creates a bucket named for the test, with the AWS SDK.
func s3Setup(t *testing.T) *s3Test {
	t.Helper()
	srv := testenv.S3(t)
	return &s3Test{endpoint: srv.Endpoint, region: srv.Region, name: srv.Bucket(t), client: srv.Client(t)}
}

// open opens the bucket through gocloud at endpoint (the server or a proxy).
func (st *s3Test) open(t *testing.T, endpoint string) *blob.Bucket {
	t.Helper()
	q := url.Values{"region": {st.region}, "endpoint": {endpoint}, "use_path_style": {"true"}}
	b, err := blob.OpenBucket(context.Background(), "s3://"+st.name+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishToS3(t *testing.T) {
	t.Parallel()
	st := s3Setup(t)
	ctx := context.Background()
	client, name := st.client, st.name
	bucket := st.open(t, st.endpoint)
	defer bucket.Close()

	get := func(key string) (*s3.GetObjectOutput, string) {
		t.Helper()
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(name), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		defer out.Body.Close()
		body, _ := io.ReadAll(out.Body)
		if aws.ToString(out.ContentEncoding) == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		return out, string(body)
	}

	out := filepath.Join(t.TempDir(), "_site")
	big := "<p>" + strings.Repeat("election night ", 300) + "</p>"
	buildSite(t, out, site{"/": big, "/gone/": "<p>bye</p>", "/app.3f9a2c1d.css": "body{color:red}"})
	publish(t, bucket, out, true)

	obj, body := get("index.html")
	want, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if body != string(want) || aws.ToString(obj.ContentType) != "text/html; charset=utf-8" ||
		aws.ToString(obj.ContentEncoding) != "gzip" || aws.ToString(obj.CacheControl) != "public, max-age=60, stale-while-revalidate=600" {
		t.Errorf("index.html: type %q encoding %q cache %q, body ok %v", aws.ToString(obj.ContentType),
			aws.ToString(obj.ContentEncoding), aws.ToString(obj.CacheControl), body == string(want))
	}
	if obj, body := get("app.3f9a2c1d.css"); body != "body{color:red}" || aws.ToString(obj.CacheControl) != "public, max-age=31536000, immutable" {
		t.Errorf("fingerprinted asset: cache %q body %q", aws.ToString(obj.CacheControl), body)
	}

	if plan := publish(t, bucket, out, true); !plan.Empty() {
		t.Errorf("republish of the same build: %s", plan.Summary())
	}

	buildSite(t, out, site{"/": big + "<p>update</p>", "/app.3f9a2c1d.css": "body{color:red}"})
	plan := publish(t, bucket, out, true)
	if plan.Uploads() != 1 || len(plan.Deletes) != 1 {
		t.Errorf("after one change and one removal: %s", plan.Summary())
	}
	if _, body := get("index.html"); !strings.HasSuffix(body, "<p>update</p>") {
		t.Error("changed page not updated")
	}
	_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(name), Key: aws.String("gone/index.html")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("removed page still there: %v", err)
	}
}
