// Package bucketurl opens the buckets bake publishes to and stages in,
// from their URLs, as gocloud.dev/blob does, but for S3 with an HTTP
// client that keeps a connection for each request in flight.
//
// The AWS SDK's default client keeps 10 idle connections to a host. A
// publish sends 32 objects at once and a bake worker stages 16: every
// request past the tenth closed its connection after it and the next one
// dialed a new one, so that a worker staging 200,000 files spent 14% of
// its CPU in net/http's dialConn, and each connection left a socket in
// TIME_WAIT.
package bucketurl

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// idleConns is how many idle connections to one host the S3 client keeps:
// more than the requests bake has in flight to it.
const idleConns = 128

// Open opens the bucket at urlstr (s3://, file://, mem://, gs://, …; see
// gocloud.dev/blob.OpenBucket).
func Open(ctx context.Context, urlstr string) (*blob.Bucket, error) {
	u, err := url.Parse(urlstr)
	if err != nil || u.Scheme != s3blob.Scheme {
		return blob.OpenBucket(ctx, urlstr)
	}
	return openS3(ctx, u)
}

// openS3 is s3blob.URLOpener.OpenBucketURL (gocloud.dev v0.47.0), the
// same query parameters read the same way, with the client of Open.
func openS3(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	q := u.Query()
	var o s3blob.Options
	if v := q.Get("ssetype"); v != "" {
		q.Del("ssetype")
		found := false
		for _, t := range types.ServerSideEncryptionAes256.Values() {
			if strings.EqualFold(string(t), v) {
				o.EncryptionType, found = t, true
			}
		}
		if !found {
			return nil, fmt.Errorf("open bucket %v: %q is not a valid value for ssetype", u, v)
		}
	}
	if v := q.Get("kmskeyid"); v != "" {
		q.Del("kmskeyid")
		o.KMSEncryptionID = v
	}
	var opts []func(*s3.Options)
	for _, p := range []struct {
		keys []string
		set  func(*s3.Options, bool)
	}{
		{[]string{"accelerate"}, func(o *s3.Options, v bool) { o.UseAccelerate = v }},
		{[]string{"disable_https"}, func(o *s3.Options, v bool) { o.EndpointOptions.DisableHTTPS = v }},
		{[]string{"use_path_style", "s3ForcePathStyle"}, func(o *s3.Options, v bool) { o.UsePathStyle = v }},
	} {
		for _, key := range p.keys {
			s := q.Get(key)
			if s == "" {
				continue
			}
			q.Del(key)
			v, err := strconv.ParseBool(s)
			if err != nil {
				return nil, fmt.Errorf("open bucket %v: invalid value for %q: %w", u, key, err)
			}
			set := p.set
			opts = append(opts, func(o *s3.Options) { set(o, v) })
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("open bucket %v: %w", u, err)
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = idleConns
		t.MaxIdleConnsPerHost = idleConns
	})
	client := s3.NewFromConfig(cfg, opts...)
	o.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	return s3blob.OpenBucket(ctx, client, u.Host, &o)
}
