package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKilledIncrementalBuildLosesNoChange kills incremental builds of
// 4,000 captured changes with SIGKILL, once while they stage pages and once
// (as near as the test can time it) while they move them into place, and
// checks that every page stays whole, that no captured change is lost, and
// that the next build finishes the job: the same output as a full build.
func TestKilledIncrementalBuildLosesNoChange(t *testing.T) {
	t.Parallel()
	// Long enough to kill midway: some seconds of rendering. The race
	// detector makes bake several times slower, and fewer pages do; -short
	// builds the smaller site too.
	n := 20000
	if testing.Short() || raceEnabled() {
		n = 5000
	}
	dir := t.TempDir()
	writeItemsSite(t, dir, n, "v1 ")
	page := func(version string, id int) string {
		return fmt.Sprintf("<h1>%s %d</h1>%0200d", version, id, id)
	}
	dbPath := filepath.Join(dir, "site.db")
	site := filepath.Join(dir, "_site")

	start := time.Now()
	lap := func(what string) { t.Logf("%6.1fs: %s", time.Since(start).Seconds(), what) }
	runBake(t, dir, "build", "-q")
	lap("full build")
	runBake(t, dir, "watch", "--install")
	if old, _ := checkItemPages(t, site, n, page); old != n {
		t.Fatalf("first build: %d of %d pages show v1", old, n)
	}
	// A fifth of the rows: with more, bake build does a full build, faster
	// than moving that many files into place one by one.
	m := n/5 - 1
	execSQLite(t, dbPath, `UPDATE items SET title = 'v2 ' || id WHERE id <= `+strconv.Itoa(m))
	ids := pendingChangeIDs(t, dbPath)
	lap(fmt.Sprintf("%d rows updated", m))
	if len(ids) != m {
		t.Fatalf("%d changes captured, want %d", len(ids), m)
	}

	// afterKill checks what a killed build left: every page whole, old or
	// new, and every change still pending unless the output has them all.
	afterKill := func(what string) {
		t.Helper()
		old, _ := checkItemPages(t, site, n, page)
		left := pendingChangeIDs(t, dbPath)
		switch {
		case slices.Equal(left, ids):
			lap(fmt.Sprintf("%s: %d pages old, %d new, all %d changes pending", what, old, n-old, len(left)))
		case len(left) == 0 && old == n-m:
			lap(what + ": the build finished its job before the kill; changes consumed")
		case len(left) == 0:
			t.Fatalf("%s: the changes were consumed but %d of %d updated pages show the old title", what, old-(n-m), m)
		default:
			t.Fatalf("%s: %d of %d captured changes are pending (IDs %d..%d): changes were consumed piecemeal or made up",
				what, len(left), len(ids), left[0], left[len(left)-1])
		}
	}

	// Kill 1: while the build renders and stages pages in .bake/tmp-*. It
	// must have been killed midway, else this test tests nothing.
	killed, out := killIncrementalBuild(t, dir, nil, func(staged, most int) bool { return staged >= 200 })
	if !killed {
		t.Fatalf("the incremental build finished before the kill: make it longer\n%s", out)
	}
	seen := stagingDirs(t, site)
	if len(seen) == 0 {
		t.Fatal("the killed build left no staging folder: was it killed midway?")
	}
	afterKill("killed while staging")

	// Kill 2: once files start moving out of the staging folder into place
	// (the test may be late: any outcome is checked, only logged).
	if killed, out = killIncrementalBuild(t, dir, seen, func(staged, most int) bool { return staged < most }); !killed {
		t.Logf("the second build finished before the kill: %s", strings.TrimSpace(out))
	}
	afterKill("killed while committing")

	// The next build finishes the job and cleans up.
	runBake(t, dir, "build", "-q")
	lap("build after the kills")
	if _, updated := checkItemPages(t, site, n, page); updated != m {
		t.Fatalf("build after the kills: %d of %d updated pages show v2", updated, m)
	}
	if left := pendingChangeIDs(t, dbPath); len(left) > 0 {
		t.Fatalf("build after the kills left %d changes pending", len(left))
	}
	if left := stagingDirs(t, site); len(left) > 0 {
		t.Fatalf("staging folders left after the next build: %v", left)
	}
	waitNoLeftovers(t, dir)

	// Same output, and same manifest, as a full build of a copy of the site.
	fresh := t.TempDir()
	for _, name := range []string{"bake.toml", "seed.sql", "site.db", "templates/item.html"} {
		copyFile(t, filepath.Join(dir, name), filepath.Join(fresh, name))
	}
	runBake(t, fresh, "build", "--full", "-q")
	lap("full build of copy")
	compareBuildFolders(t, filepath.Join(fresh, "_site"), site)
	if a, b := runBake(t, fresh, "manifest"), runBake(t, dir, "manifest"); a != b {
		t.Fatalf("manifest after the kills differs from a full build's:\n%s", firstDiff(a, b))
	}
	lap("compared with a full build")
}

// raceEnabled reports whether this test binary, which runs as bake, was
// built with the race detector.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	return ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
}

// killIncrementalBuild starts bake build in the site folder dir and kills
// it with SIGKILL as soon as kill(staged, most) is true, staged being the
// number of files in its staging folder (_site/.bake/tmp-*, other than
// those named in ignore) and most the largest number seen so far. It
// reports whether the process died of the kill (false: it exited first,
// successfully) and its output.
func killIncrementalBuild(t *testing.T, dir string, ignore []string, kill func(staged, most int) bool) (bool, string) {
	t.Helper()
	var out syncBuffer
	cmd := bakeCommand(dir, "build")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	most := 0
	deadline := time.After(5 * time.Minute)
poll:
	for {
		select {
		case err = <-exited:
			break poll
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("the build neither finished nor staged files in 5 minutes\n%s", out.String())
		default:
		}
		for _, d := range stagingDirs(t, filepath.Join(dir, "_site")) {
			if slices.Contains(ignore, d) {
				continue
			}
			names, _ := readDirNames(d)
			if staged := len(names); staged > 0 && kill(staged, most) {
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-exited
				break poll
			} else {
				most = max(most, staged)
			}
		}
		time.Sleep(time.Millisecond)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return false, out.String()
	case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		return true, out.String()
	}
	t.Fatalf("the build failed on its own: %v\n%s", err, out.String())
	return false, ""
}

// checkItemPages checks that the build folder site holds exactly the pages
// items/1/ to items/n/, each whole: page("v1", id) or page("v2", id). It
// returns how many show each.
func checkItemPages(t *testing.T, site string, n int, page func(version string, id int) string) (v1, v2 int) {
	t.Helper()
	found := 0
	err := filepath.WalkDir(site, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(site, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".bake" {
				return filepath.SkipDir
			}
			return nil
		}
		var id int
		if _, err := fmt.Sscanf(rel, "items/%d/index.html", &id); err != nil || rel != fmt.Sprintf("items/%d/index.html", id) || id < 1 || id > n {
			return fmt.Errorf("unexpected file %s", rel)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch string(b) {
		case page("v1", id):
			v1++
		case page("v2", id):
			v2++
		default:
			return fmt.Errorf("%s is neither the old page nor the new (truncated or mixed?): %q", rel, b)
		}
		found++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != n {
		t.Fatalf("%d pages in %s, want %d", found, site, n)
	}
	return v1, v2
}

// stagingDirs returns the staging folders of incremental builds in the
// build folder site.
func stagingDirs(t *testing.T, site string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(site, ".bake", "tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// compareBuildFolders fails unless the build folders want and got hold
// the same files with the same bytes, apart from their .bake folders.
func compareBuildFolders(t *testing.T, want, got string) {
	t.Helper()
	w, g := buildObjects(t, want), buildObjects(t, got)
	for name, b := range w {
		gb, ok := g[name]
		switch {
		case !ok:
			t.Errorf("%s: missing (a full build makes it)", name)
		case !bytes.Equal(gb, b):
			t.Errorf("%s: %q, a full build makes %q", name, gb, b)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: not made by a full build", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}
