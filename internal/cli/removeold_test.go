package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildRemovesReplacedBuild: a full build returns once the new build
// is live and leaves the build it replaced to a background process, which
// removes it; with --wait-removal it is gone when the command returns.
func TestBuildRemovesReplacedBuild(t *testing.T) {
	dir := t.TempDir()
	writeItemsSite(t, dir, 2000, "v1 item ")
	runBake(t, dir, "build", "-q")
	execSQLite(t, filepath.Join(dir, "site.db"), "UPDATE items SET title = 'v2 item ' || id")

	var rep struct {
		Removing bool `json:"removing_in_background"`
	}
	if err := json.Unmarshal([]byte(runBake(t, dir, "build", "--full", "--json")), &rep); err != nil || !rep.Removing {
		t.Fatalf("the replaced build was not handed to a background removal (%v)", err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "_site", "items", "2000", "index.html"))
	if err != nil || !strings.Contains(string(page), "v2 item 2000") {
		t.Fatalf("new build not live when the command returned: %q, %v", page, err)
	}
	waitNoLeftovers(t, dir)

	if err := json.Unmarshal([]byte(runBake(t, dir, "build", "--full", "--wait-removal", "--json")), &rep); err != nil || rep.Removing {
		t.Fatalf("--wait-removal: removing_in_background %v (%v)", rep.Removing, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "._site.*")); len(left) > 0 {
		t.Fatalf("--wait-removal returned with %v left", left)
	}
}

// TestRemoveOldRemovesOnlyLeftovers: the command the background removal
// runs refuses any folder that is not one a build of the output folder
// left beside it, and then removes nothing.
func TestRemoveOldRemovesOnlyLeftovers(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "_site")
	mk := func(name string) string {
		p := filepath.Join(dir, name)
		writeSiteFiles(t, p, map[string]string{"index.html": "x"})
		return p
	}
	old := mk("._site.old-0123456789ab")
	staging := mk("._site.new-ba9876543210")
	for _, tc := range []struct {
		name string
		path string
	}{
		{"the output folder", mk("_site")},
		{"another site's build", mk("._public.old-0123456789ab")},
		{"a user's folder", mk("templates")},
		{"a relative path", "._site.old-0123456789ab"},
		{"a folder elsewhere", filepath.Join(t.TempDir(), "._site.old-0123456789ab")},
		{"a path through ..", dir + "/templates/../._site.old-0123456789ab"},
		{"a name that only starts right", mk("._site.old-0123456789ab-keep")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := bakeCommand(dir, "remove-old", final, old, tc.path).CombinedOutput()
			var exit *exec.ExitError
			if !strings.Contains(string(out), "is not a folder a build of") || err == nil || !errors.As(err, &exit) {
				t.Fatalf("remove-old %s: %v\n%s", tc.path, err, out)
			}
			if _, err := os.Stat(old); err != nil {
				t.Fatalf("something was removed after a refusal: %v", err)
			}
		})
	}
	for _, p := range []string{"_site", "._public.old-0123456789ab", "templates", "._site.old-0123456789ab-keep"} {
		if _, err := os.Stat(filepath.Join(dir, p, "index.html")); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if out, err := bakeCommand(dir, "remove-old", final, old, staging).CombinedOutput(); err != nil {
		t.Fatalf("remove-old: %v\n%s", err, out)
	}
	for _, p := range []string{old, staging} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
}
