package testenv

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NPMPackage returns the folder of an npm package ("bootstrap@5.3.3"),
// fetched from the npm registry with npm pack once and kept in
// $XDG_CACHE_HOME/bake-test/npm (~/.cache/bake-test/npm): the tests of the
// asset pipeline run on real front-end code. The folder is the package's
// own (package.json, dist/, …). When npm is missing or the registry cannot
// be reached it skips t, or fails t when InCI.
func NPMPackage(t testing.TB, spec string) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "bake-test", "npm", strings.ReplaceAll(spec, "/", "+"))
	pkg := filepath.Join(dir, "package")
	if _, err := os.Stat(filepath.Join(pkg, "package.json")); err == nil {
		return pkg
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing(t, "npm", "npm")
	}
	tmp := t.TempDir()
	cmd := exec.Command(npm, "pack", spec, "--silent", "--pack-destination", tmp)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("testenv: npm pack %s: %v\n%s", spec, err, out)
		if InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	tgz, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tgz) != 1 {
		t.Fatalf("testenv: npm pack %s made %d archives", spec, len(tgz))
	}
	part := dir + ".part"
	os.RemoveAll(part)
	if err := untgz(tgz[0], part); err != nil {
		t.Fatalf("testenv: unpack %s: %v", spec, err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(part, dir); err != nil {
		t.Fatal(err)
	}
	return pkg
}

// untgz unpacks the regular files of a .tgz into dir, refusing names that
// would leave it.
func untgz(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(h.Name) {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		out, err := os.Create(p)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
}
