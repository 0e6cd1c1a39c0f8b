// Package cdn tells a CDN which paths a publish changed, so that it stops
// serving the old bytes: exactly those paths, in batches within the
// provider's limits, collapsed to one wildcard when there are too many.
package cdn

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/publish"
)

// Paths returns the URL paths a plan changes on a CDN: objects replaced or
// deleted (new ones were never cached), with a page's folder URL as well
// as its index.html, escaped, sorted, without duplicates. Past most paths
// (a publish that changes most of a large site), it is "/*" alone.
func Paths(plan *publish.Plan, most int) ([]string, error) {
	var out []string
	add := func(key string) bool {
		p := bake.EscapePath(bake.PathOf(key))
		out = append(out, p)
		if strings.HasSuffix(p, "/") {
			out = append(out, p+"index.html")
		}
		return len(out) <= most
	}
	for c, err := range plan.UploadList() {
		if err != nil {
			return nil, err
		}
		if c.Reason != publish.ReasonNew && !add(c.Key) {
			return []string{"/*"}, nil
		}
	}
	for _, c := range plan.Deletes {
		if !add(c.Key) {
			return []string{"/*"}, nil
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Batches splits paths into invalidation batches of at most size paths;
// past wildcardAbove paths in all, it is one batch of "/*" instead.
func Batches(paths []string, size, wildcardAbove int) [][]string {
	if len(paths) == 0 {
		return nil
	}
	if len(paths) > wildcardAbove {
		return [][]string{{"/*"}}
	}
	var out [][]string
	for len(paths) > 0 {
		n := min(size, len(paths))
		out = append(out, paths[:n])
		paths = paths[n:]
	}
	return out
}

// CloudFront invalidates paths of one CloudFront distribution.
type CloudFront struct {
	Client       *cloudfront.Client
	Distribution string
	// BatchSize is the most paths a request carries. If zero, 3000,
	// CloudFront's limit for one invalidation.
	BatchSize int
	// WildcardAbove is the number of paths past which one "/*" is sent
	// instead (CloudFront bills each path past the first thousand a
	// month). If zero, 1000.
	WildcardAbove int
}

// Invalidate sends the invalidations for paths and returns their IDs.
func (c *CloudFront) Invalidate(ctx context.Context, paths []string) ([]string, error) {
	size, above := c.BatchSize, c.WildcardAbove
	if size == 0 {
		size = 3000
	}
	if above == 0 {
		above = 1000
	}
	var ids []string
	ref := time.Now().UTC().Format("20060102T150405.000000000")
	for i, batch := range Batches(paths, size, above) {
		out, err := c.Client.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
			DistributionId: aws.String(c.Distribution),
			InvalidationBatch: &types.InvalidationBatch{
				CallerReference: aws.String(fmt.Sprintf("bake-%s-%d", ref, i)),
				Paths:           &types.Paths{Quantity: aws.Int32(int32(len(batch))), Items: batch},
			},
		})
		if err != nil {
			return ids, fmt.Errorf("invalidate %d paths on CloudFront %s: %w", len(batch), c.Distribution, err)
		}
		if out.Invalidation != nil {
			ids = append(ids, aws.ToString(out.Invalidation.Id))
		}
	}
	return ids, nil
}
