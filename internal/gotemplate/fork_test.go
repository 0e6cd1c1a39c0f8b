package gotemplate

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// upstream maps each folder of the copy to its package in the standard
// library, and lists the upstream files left out.
var upstream = map[string]struct {
	pkg  string
	skip []string
}{
	"texttemplate": {"text/template", []string{"link_test.go"}},
	"htmltemplate": {"html/template", nil},
	"fmtsort":      {"internal/fmtsort", []string{"export_test.go", "sort_test.go"}},
}

// importLine matches an import of a package the copy replaces, as
// scripts/sync-gotemplate rewrites it: in import lines only.
var importLine = regexp.MustCompile(`(?m)^((?:import )?\s*(?:[\w.]+ )?)"(text/template|html/template|internal/fmtsort|internal/godebug)"\s*$`)

// rewrite is what scripts/sync-gotemplate does to an upstream file.
func rewrite(src string) string {
	return importLine.ReplaceAllStringFunc(src, func(line string) string {
		m := importLine.FindStringSubmatch(line)
		name := map[string]string{"text/template": "texttemplate", "html/template": "htmltemplate", "internal/fmtsort": "fmtsort", "internal/godebug": "godebug"}[m[2]]
		return m[1] + `"github.com/bakehq/bake/internal/gotemplate/` + name + `"`
	})
}

// TestForkIsUpstream checks that the copy is the installed Go's text/template
// and html/template plus bake's marked lines and bake_*.go files (see the
// package doc).
func TestForkIsUpstream(t *testing.T) {
	want, err := os.ReadFile("UPSTREAM")
	if err != nil {
		t.Fatal(err)
	}
	// The first line names the release; the lines after it are notes.
	first, _, _ := strings.Cut(string(want), "\n")
	if v := strings.TrimSpace(first); v != runtime.Version() {
		t.Fatalf("the copy follows %s, the tests run on %s: run scripts/sync-gotemplate to copy this release's templates", v, runtime.Version())
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	for dir, up := range upstream {
		src := filepath.Join(goroot, "src", filepath.FromSlash(up.pkg))
		ups, err := filepath.Glob(filepath.Join(src, "*.go"))
		if err != nil || len(ups) == 0 {
			t.Fatalf("no Go files in %s (%v)", src, err)
		}
		seen := map[string]bool{}
		for _, f := range ups {
			name := filepath.Base(f)
			seen[name] = true
			if slices.Contains(up.skip, name) {
				continue
			}
			orig, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wantSrc, err := format.Source([]byte(rewrite(string(orig))))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s/%s is missing: run scripts/sync-gotemplate", dir, name)
				continue
			}
			if line, bad := badMark(got); bad {
				t.Errorf("%s/%s: a marked line may not open or close a comment or hold a directive: %s", dir, name, line)
			}
			if g := unmarked(got); !bytes.Equal(g, wantSrc) {
				t.Errorf("%s/%s differs from %s/%s in lines not marked // bake: (first at line %d of the unmarked text)", dir, name, up.pkg, name, firstDiff(g, wantSrc))
			}
		}
		mine, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range mine {
			name := filepath.Base(f)
			if !seen[name] && !strings.HasPrefix(name, "bake_") {
				t.Errorf("%s has no upstream file in %s: bake's own files are named bake_*.go", f, up.pkg)
			}
		}
	}
}

// badMark returns a marked line that could hide upstream lines from the
// comparison (by opening a comment that a later marked line closes) or
// change how the file builds.
func badMark(src []byte) (string, bool) {
	for line := range bytes.Lines(src) {
		if !bytes.Contains(line, []byte("// bake:")) {
			continue
		}
		if bytes.Contains(line, []byte("/*")) || bytes.Contains(line, []byte("*/")) || bytes.HasPrefix(bytes.TrimSpace(line), []byte("//go:")) {
			return string(bytes.TrimSpace(line)), true
		}
	}
	return "", false
}

// unmarked returns src without its lines marked // bake:.
func unmarked(src []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(src) {
		if !bytes.Contains(line, []byte("// bake:")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

func firstDiff(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
