package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestBenchAssets: bake bench --assets builds the bench site with
// fingerprints and minification off, then on, alternating; the "on" build
// links fingerprinted files and writes fewer bytes (minified HTML), and
// bake.toml is as it was after.
func TestBenchAssets(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "b")
	out := runBake(t, ".", "bench", "--items", "60", "--runs", "2", "--assets", "--keep", dir, "--json")
	var res struct {
		Pages  int                  `json:"pages"`
		Assets map[string]assetsRun `json:"assets"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	on, off := res.Assets["on"], res.Assets["off"]
	if len(on.Runs) != 2 || len(off.Runs) != 2 || on.Seconds <= 0 || off.Seconds <= 0 {
		t.Fatalf("runs: on %+v, off %+v", on, off)
	}
	// Off, the stylesheet and script are not also at fingerprinted names.
	if on.Pages != res.Pages || off.Pages != res.Pages-2 {
		t.Errorf("pages: on %d, off %d, the bench's %d", on.Pages, off.Pages, res.Pages)
	}
	if on.Bytes >= off.Bytes {
		t.Errorf("on wrote %d bytes, off %d: HTML not minified", on.Bytes, off.Bytes)
	}
	// The last build was an "on" one.
	home, err := os.ReadFile(filepath.Join(dir, "_site", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`/css/site\.[0-9a-f]{8}\.css`).Match(home) {
		t.Errorf("the on build does not link a fingerprinted stylesheet:\n%.600s", home)
	}
	toml, err := os.ReadFile(filepath.Join(dir, "bake.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^\[assets\]`).Match(toml) {
		t.Errorf("bake.toml still has the off side's [assets]:\n%s", toml)
	}
}
