package sitecheck

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/cli"
)

// example copies examples/newsroom into a temp folder, without what
// earlier builds left there, and returns the copy's path: tests build and
// serve the copy, never the example itself.
func example(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "newsroom")
	dst := filepath.Join(t.TempDir(), "newsroom")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := d.Name()
		if rel != "." && (strings.HasPrefix(name, ".") || name == "_site" || strings.Contains(name, ".db")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// bake runs the bake command in this process with args, and fails t
// unless it exits 0. It returns what the command printed.
func bake(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if code := cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out}); code != 0 {
		t.Fatalf("bake %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}
