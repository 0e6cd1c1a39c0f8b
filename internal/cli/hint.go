package cli

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// hints are how to fix errors that come from libraries in their words:
// the first whose pattern matches the error's text is printed under it.
var hints = []struct {
	re   *regexp.Regexp
	hint string
}{
	{regexp.MustCompile(`region was not a valid DNS name|MissingRegion|could not find region|[Rr]egion.{0,40}(required|missing|not set)`),
		"an S3 bucket needs its region: add it to the URL (s3://BUCKET?region=eu-west-1), or set AWS_REGION"},
	{regexp.MustCompile(`no EC2 IMDS role found|failed to refresh cached credentials|NoCredentialProviders|get credentials: failed|AnonymousCredentials`),
		"no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"},
	{regexp.MustCompile(`NoSuchBucket|bucket does not exist|The specified bucket does not exist`),
		"the bucket does not exist: create it first (bake never creates buckets), or check its name and endpoint"},
	{regexp.MustCompile(`InvalidAccessKeyId|SignatureDoesNotMatch`),
		"the S3 server refused the keys: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and the URL's endpoint)"},
}

// argsError matches cobra's errors for the wrong number of arguments.
var argsError = regexp.MustCompile(`^(accepts|requires at least|requires at most|accepts between) .*arg\(s\), (received|only received) \d+$`)

// hintFor returns what to print under err: how to fix it, or "".
// cmd is the command that ran (nil if none was found).
func hintFor(cmd *cobra.Command, err error) string {
	msg := err.Error()
	if cmd != nil && argsError.MatchString(msg) {
		lines := []string{"usage: " + cmd.UseLine()}
		if cmd.Example != "" {
			lines = append(lines, "examples:", cmd.Example)
		}
		return strings.Join(append(lines, "see "+cmd.CommandPath()+" -h"), "\n")
	}
	for _, h := range hints {
		if h.re.MatchString(msg) {
			return h.hint
		}
	}
	return ""
}
