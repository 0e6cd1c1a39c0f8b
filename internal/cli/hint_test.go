package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestHintFor(t *testing.T) {
	cmd := &cobra.Command{Use: "rollback RELEASE", Example: "  bake rollback 2026"}
	(&cobra.Command{Use: "bake"}).AddCommand(cmd)
	for _, tc := range []struct {
		err  string
		want string // the hint's start; "" for none
	}{
		{"accepts 1 arg(s), received 0", "usage: bake rollback RELEASE\nexamples:\n  bake rollback 2026\nsee bake rollback -h"},
		{"accepts at most 2 arg(s), received 3", "usage: bake rollback RELEASE"}, // cobra.MaximumNArgs
		{"requires at least 1 arg(s), only received 0", "usage: bake rollback RELEASE"},
		{`publish: read .bake/headers.json: operation error S3: GetObject, resolve auth scheme: resolve endpoint: endpoint rule error, Invalid region: region was not a valid DNS name.`, "an S3 bucket needs its region"},
		{"operation error S3: PutObject, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found", "no AWS credentials"},
		{"api error NoSuchBucket: The specified bucket does not exist", "the bucket does not exist"},
		{"api error SignatureDoesNotMatch: The request signature we calculated does not match", "the S3 server refused the keys"},
		{"build has problems: 2 problems", ""},
		{"publish: 3 deletes exceed max_deletes 2; pass --force", ""},
	} {
		got := hintFor(cmd, errors.New(tc.err))
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("hintFor(%q) = %q, want it to start with %q", tc.err, got, tc.want)
		}
	}
}
