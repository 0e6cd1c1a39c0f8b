package testenv

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3EndpointEnv names the variable holding the endpoint of the S3-compatible
// server for tests (versitygw or MinIO on loopback); scripts/test sets it,
// with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION.
const S3EndpointEnv = "BAKE_TEST_S3_ENDPOINT"

// S3Server is where a test reaches the S3-compatible server.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
}

// S3 returns the test S3 server. It sets AWS_EC2_METADATA_DISABLED=true for
// the test, so that no AWS SDK ever asks the cloud metadata address for
// credentials. When BAKE_TEST_S3_ENDPOINT is unset it skips t, or fails t
// when InCI.
func S3(t testing.TB) S3Server {
	t.Helper()
	s := S3Server{
		Endpoint:  strings.TrimSpace(os.Getenv(S3EndpointEnv)),
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		Region:    os.Getenv("AWS_REGION"),
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.Endpoint == "" || s.AccessKey == "" {
		const msg = "testenv: no S3 server for this test: " + S3EndpointEnv + " or AWS_ACCESS_KEY_ID is unset"
		if InCI() {
			t.Fatal(msg + " (in CI a missing service is an error)")
		}
		t.Skip(msg + "; run the tests with scripts/test, which starts one")
	}
	// No AWS SDK in a test may ever ask the cloud metadata address for
	// credentials. Set for the whole test process (never unset: it is what
	// every test wants), so that tests using S3 may run in parallel, which
	// t.Setenv forbids.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return s
}

// Client returns an AWS SDK client for the server with static keys: an
// independent client, to check what bake wrote with something other than
// bake's own code.
func (s S3Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(s.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")))
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
}

// Bucket creates an empty bucket named for the test, removed with what it
// holds when the test ends, and returns its name. The name ends in a
// random suffix, so that a test run again on the same server starts from
// an empty bucket too.
func (s S3Server) Bucket(t testing.TB) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, "bake-"+strings.ToLower(t.Name()))
	name = strings.TrimRight(name[:min(len(name), 54)], "-") + "-" + randomHex(4)
	client := s.Client(t)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("testenv: create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return
			}
			for _, o := range page.Contents {
				client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key})
			}
		}
		client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	})
	return name
}
