package cli

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/bakehq/bake/internal/testenv"
)

// TestPublishCommandToS3 runs bake build and bake publish against a real
// S3 server and checks with the AWS SDK that a redirect page became an
// object redirect, and that a second publish sends nothing.
func TestPublishCommandToS3(t *testing.T) {
	srv := testenv.S3(t)
	ctx := context.Background()
	client, bucket := srv.Client(t), srv.Bucket(t)

	dir := filepath.Join(t.TempDir(), "site")
	if err := writeScaffold(dir); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(ctx, append([]string{"-C", dir}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
			t.Fatalf("bake %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	run("build", "-q")
	// 14 objects: the pages, the feed, the sitemap, and the stylesheet
	// twice (fingerprinted, and at its own name: originals = true).
	q := url.Values{"region": {srv.Region}, "endpoint": {srv.Endpoint}, "use_path_style": {"true"}}
	target := "s3://" + bucket + "?" + q.Encode()
	if out := run("publish", "--to", target); !strings.Contains(out, "14 uploaded") {
		t.Errorf("first publish: %s", out)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("blog/index.html")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.WebsiteRedirectLocation); got != "/posts/" {
		t.Errorf("blog/index.html redirect location = %q, want /posts/", got)
	}
	if got := aws.ToString(head.ContentType); got != "text/html; charset=utf-8" {
		t.Errorf("content type %q", got)
	}
	if out := run("publish", "--to", target); !strings.Contains(out, "0 uploaded") || !strings.Contains(out, "14 unchanged") {
		t.Errorf("second publish: %s", out)
	}

	// A new Cache-Control rule: the objects it changes (the two
	// stylesheets) are sent again, with the new header, and only those.
	cfg, err := os.ReadFile(filepath.Join(dir, "bake.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, "\n[[publish.cache_control]]\nglob = \"*.css\"\nvalue = \"public, max-age=60\"\n"...)
	if err := os.WriteFile(filepath.Join(dir, "bake.toml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run("publish", "--to", target); !strings.Contains(out, " 2 uploaded") || !strings.Contains(out, "12 unchanged") {
		t.Errorf("publish after a new cache_control rule: %s", out)
	}
	head, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("css/site.css")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.CacheControl); got != "public, max-age=60" {
		t.Errorf("css/site.css Cache-Control = %q after the rule changed, want %q", got, "public, max-age=60")
	}
	if out := run("publish", "--to", target); !strings.Contains(out, "0 uploaded") {
		t.Errorf("publish with the same rules again: %s", out)
	}

	// compress = "br": the compressible objects are sent again, brotli.
	cfg = append(cfg, "\n[publish]\ncompress = \"br\"\n"...)
	if err := os.WriteFile(filepath.Join(dir, "bake.toml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// The feed is the one text object past 1 KB.
	if out := run("publish", "--dry-run", "--to", target); !strings.Contains(out, "upload headers  feed.xml") {
		t.Errorf("plan after compress = \"br\": %s", out)
	}
	if out := run("publish", "--to", target); !strings.Contains(out, " 1 uploaded") {
		t.Errorf("publish after compress = \"br\": %s", out)
	}
	head, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("feed.xml")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.ContentEncoding); got != "br" {
		t.Errorf("feed.xml Content-Encoding = %q after compress = \"br\", want br", got)
	}
}
