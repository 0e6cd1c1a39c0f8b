package cli

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestScaffoldCurrentNames: the site bake new writes is what people copy,
// so its templates use the names the docs give, not the old ones kept
// working (.Pager.Total and .Pager.Items are .TotalPages and .TotalItems).
func TestScaffoldCurrentNames(t *testing.T) {
	t.Parallel()
	old := regexp.MustCompile(`\.Pager\.(Total|Items)\b`)
	n := 0
	err := fs.WalkDir(scaffold, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(scaffold, p)
		if err != nil {
			return err
		}
		n++
		for _, m := range old.FindAll(b, -1) {
			t.Errorf("%s: %s is an old name", p, m)
		}
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("read %d files of the scaffold: %v", n, err)
	}
}
