package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/bakehq/bake/cdn"
	"github.com/bakehq/bake/publish"
)

// invalidate asks CloudFront distribution to drop the paths plan changed,
// with credentials from the usual AWS environment and files.
func invalidate(ctx context.Context, distribution string, plan *publish.Plan) ([]string, error) {
	// Past the wildcard threshold of cdn.CloudFront, the paths are not kept.
	paths, err := cdn.Paths(plan, 10_000)
	if err != nil {
		return nil, fmt.Errorf("cloudfront: %w", err)
	}
	if len(paths) == 0 {
		return nil, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloudfront: %w", err)
	}
	cf := &cdn.CloudFront{Client: cloudfront.NewFromConfig(cfg), Distribution: distribution}
	return cf.Invalidate(ctx, paths)
}
