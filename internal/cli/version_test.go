package cli

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	var out, errb syncBuffer
	code := Run(context.Background(), []string{"--version"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 0 || !strings.HasPrefix(out.String(), "bake version ") || !strings.Contains(out.String(), runtime.Version()) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want bake version … %s", code, out.String(), errb.String(), runtime.Version())
	}
}
