package cli

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
)

// TestStaticBinary: no package bake is built from asks the linker for a
// dynamic library (//go:cgo_import_dynamic), so `CGO_ENABLED=0 go build
// ./cmd/bake` stays one static binary, as the README says, that runs on
// any Linux (scratch and distroless images, musl). Loaders of C libraries
// without cgo, such as purego (which github.com/gen2brain/webp uses),
// make it a dynamically linked one that needs glibc's ld.so.
func TestStaticBinary(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("no go on PATH")
		}
		t.Skip("no go on PATH")
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}} {{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}`, "../../cmd/bake")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n++
		for _, name := range f[2:] {
			src, err := os.ReadFile(filepath.Join(f[1], name))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(src, []byte("//go:cgo_import_dynamic")) {
				t.Errorf("%s (%s) links a dynamic library: bake would no longer be a static binary", f[0], name)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found %d packages:\n%s", n, out)
	}
}
