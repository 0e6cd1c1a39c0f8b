package cli

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/publish"
)

// s3Redirects turns redirect pages into S3 object redirects
// (x-amz-website-redirect-location), which an S3 website endpoint answers
// with a 301; other hosts serve the page's meta refresh.
func s3Redirects(c publish.Change, asFunc func(any) bool) error {
	if c.Entry.Redirect == "" {
		return nil
	}
	var in *transfermanager.UploadObjectInput
	if asFunc(&in) && in != nil {
		target := c.Entry.Redirect
		if len(target) > 0 && target[0] == '/' {
			target = bake.EscapePath(target)
		}
		in.WebsiteRedirectLocation = aws.String(target)
	}
	return nil
}
