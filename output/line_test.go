package output

import (
	"encoding/json"
	"testing"

	"github.com/bakehq/bake"
)

// TestLineDigest: LineDigest reads the input digest of a manifest line as
// encoding/json wrote it, even when a string value holds text that looks
// like the field.
func TestLineDigest(t *testing.T) {
	for _, e := range []bake.Entry{
		{Path: "/a/", SHA256: "ab", Size: 10436, Route: "item", Key: "5", Digest: "d1"},
		{Path: `/x,"input":"no"/`, SHA256: "ab", Route: "r", Key: `,"input":"no"`, Digest: "d2"},
		{Path: `/none,"input":"no"/`},
	} {
		b, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got := LineDigest(string(b)); got != e.Digest {
			t.Errorf("LineDigest(%s) = %q, want %q", b, got, e.Digest)
		}
	}
}
