package output

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return got
}

// beginBuild starts a build of final as a build does: its index is
// written (empty here), which makes the folder a build once committed.
func beginBuild(t testing.TB, final string) *Staging {
	t.Helper()
	s, err := Begin(final)
	if err != nil {
		t.Fatal(err)
	}
	beginIndex(t, s)
	return s
}

// markBuild makes dir look like a build folder (see IsBuild).
func markBuild(t testing.TB, dir string) {
	t.Helper()
	name := filepath.Join(dir, filepath.FromSlash(IndexFile))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCommitReplacesBuild(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "_site")
	for i, files := range []map[string]string{
		{"index.html": "one", "a/index.html": "a1"},
		{"index.html": "two", "b/c/index.html": "c2"},
	} {
		s := beginBuild(t, final)
		for name, body := range files {
			if err := s.WriteFile(name, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		s.Wait()
		if err := s.RemoveOld(); err != nil {
			t.Fatal(err)
		}
		got := readTree(t, final)
		delete(got, IndexFile)
		if len(got) != len(files) {
			t.Fatalf("build %d: files %v, want %v", i, got, files)
		}
		for name, body := range files {
			if got[name] != body {
				t.Errorf("build %d: %s = %q, want %q", i, name, got[name], body)
			}
		}
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".new-") || strings.Contains(e.Name(), ".old-") {
			t.Errorf("leftover %s after commit", e.Name())
		}
	}
}

func TestAbortKeepsPreviousBuild(t *testing.T) {
	final := filepath.Join(t.TempDir(), "_site")
	s := beginBuild(t, final)
	s.WriteFile("index.html", []byte("good"))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s = beginBuild(t, final)
	s.WriteFile("index.html", []byte("half"))
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, final); got["index.html"] != "good" || len(got) != 2 {
		t.Fatalf("after abort: %v", got)
	}
	if _, err := os.Stat(s.Dir()); !os.IsNotExist(err) {
		t.Errorf("staging folder still there: %v", err)
	}
}

func TestLeftoversOfKilledBuildAreRemoved(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "_site")
	// A build killed midway leaves its staging folder; the live one is whole.
	// A folder of the user's named alike is not a leftover.
	for _, d := range []string{"._site.new-0123456789ab", "._site.old-backup"} {
		os.MkdirAll(filepath.Join(parent, d), 0o755)
		os.WriteFile(filepath.Join(parent, d, "x"), []byte("partial"), 0o644)
	}
	s, err := Begin(final)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	s.Wait()
	if _, err := os.Stat(filepath.Join(parent, "._site.new-0123456789ab")); !os.IsNotExist(err) {
		t.Errorf("leftover not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "._site.old-backup", "x")); err != nil {
		t.Errorf("a folder that is not a leftover was removed: %v", err)
	}
	if got := s.Replaced(); len(got) != 1 || filepath.Base(got[0]) != "._site.new-0123456789ab" {
		t.Errorf("Replaced = %v", got)
	}
}

func TestConcurrentBuildIsRefused(t *testing.T) {
	final := filepath.Join(t.TempDir(), "_site")
	s, err := Begin(final)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	if _, err := Begin(final); err == nil || !strings.Contains(err.Error(), "another bake build") {
		t.Fatalf("second Begin: %v", err)
	}
}

func TestWriteStaysInside(t *testing.T) {
	parent := t.TempDir()
	s, _ := Begin(filepath.Join(parent, "_site"))
	defer s.Abort()
	// Names come from bake.FileName, but the root refuses escapes even so.
	for _, name := range []string{"../escape.html", "a/../../escape.html"} {
		if err := s.WriteFile(name, []byte("x")); err == nil {
			t.Errorf("WriteFile(%q) succeeded", name)
		}
	}
	// A symlink planted inside cannot lead outside either.
	os.Symlink(parent, filepath.Join(s.Dir(), "link"))
	if err := s.WriteFile("link/escape.html", []byte("x")); err == nil {
		t.Error("write through a symlink succeeded")
	}
	if _, err := os.Stat(filepath.Join(parent, "escape.html")); err == nil {
		t.Error("a file was written outside the build folder")
	}
}

func TestOutputIsAFile(t *testing.T) {
	final := filepath.Join(t.TempDir(), "_site")
	os.WriteFile(final, []byte("x"), 0o644)
	if _, err := Begin(final); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("Begin on a file: %v", err)
	}
}

func TestNextBuildRemovesPreviousBuild(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "_site")
	for i := range 3 {
		s := beginBuild(t, final)
		s.WriteFile("index.html", []byte{byte('0' + i)})
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		s.Wait()
		old, _ := filepath.Glob(filepath.Join(parent, "._site.old-*"))
		if want := min(i, 1); len(old) != want {
			t.Fatalf("build %d: %d previous builds kept, want %d", i, len(old), want)
		}
	}
}

// TestReplacedNamesWhatIsLeft: after Commit, Replaced lists the previous
// build and what earlier builds left, each a folder IsLeftover accepts.
func TestReplacedNamesWhatIsLeft(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "_site")
	build := func(body string) *Staging {
		s := beginBuild(t, final)
		if err := s.WriteFile("index.html", []byte(body)); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := build("one").Replaced(); len(got) != 0 {
		t.Fatalf("first build replaced %v", got)
	}
	second := build("two")
	second.Wait()
	first := second.Replaced()
	if len(first) != 1 || readTree(t, first[0])["index.html"] != "one" {
		t.Fatalf("Replaced = %v, want the first build", first)
	}
	// The third build finds the first one left over, starts removing it,
	// and replaces the second.
	third := build("three")
	got := third.Replaced()
	if len(got) != 2 || got[0] != first[0] || readTree(t, got[1])["index.html"] != "two" {
		t.Fatalf("Replaced = %v, want %s and the second build", got, first[0])
	}
	for _, p := range got {
		if !IsLeftover(final, p) {
			t.Errorf("IsLeftover(%s) = false", p)
		}
	}
	third.Wait()
}

func TestIsLeftover(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "_site")
	for _, tc := range []struct {
		path string
		want bool
	}{
		{filepath.Join(parent, "._site.old-0123456789ab"), true},
		{filepath.Join(parent, "._site.new-0123456789ab"), true},
		{filepath.Join(parent, "_site"), false},
		{filepath.Join(parent, "._site"), false},
		{filepath.Join(parent, "._site.old-0123456789AB"), false},
		{filepath.Join(parent, "._site.old-0123456789a"), false},
		{filepath.Join(parent, "._site.old-0123456789ab", "x"), false},
		{filepath.Join(parent, "._public.old-0123456789ab"), false},
		{filepath.Join(parent, "._sitex.old-0123456789ab"), false},
		{filepath.Join(parent, "._site.old-x.new-0123456789ab"), false},
		{filepath.Join(parent, "._site.old-backup"), false},
		{filepath.Join(parent, "x", "._site.old-0123456789ab"), false},
		{parent + "/x/../._site.old-0123456789ab", false},
		{"._site.old-0123456789ab", false},
		{"", false},
	} {
		if got := IsLeftover(final, tc.path); got != tc.want {
			t.Errorf("IsLeftover(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestBeginRefusesFolderItDidNotMake: a full build replaces and deletes
// its output folder, so Begin refuses any folder that is not a build,
// empty or missing, and leaves it as it was.
func TestBeginRefusesFolderItDidNotMake(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, final string)
		err   string // "" if Begin may replace it
	}{
		{"missing", func(t *testing.T, final string) {}, ""},
		{"empty folder", func(t *testing.T, final string) { os.Mkdir(final, 0o755) }, ""},
		{"a build", func(t *testing.T, final string) { markBuild(t, final) }, ""},
		{"a user's folder", func(t *testing.T, final string) {
			os.MkdirAll(filepath.Join(final, "photos"), 0o755)
			os.WriteFile(filepath.Join(final, "photos", "me.jpg"), []byte("precious"), 0o644)
		}, "is not empty and is not a bake build"},
		{"a site folder", func(t *testing.T, final string) {
			os.MkdirAll(filepath.Join(final, ".bake", "objects"), 0o755)
			os.WriteFile(filepath.Join(final, "bake.toml"), []byte("[site]\n"), 0o644)
			os.WriteFile(filepath.Join(final, "site.db"), []byte("precious"), 0o644)
		}, "is not empty and is not a bake build"},
		{"a folder holding only a dot-file", func(t *testing.T, final string) {
			os.Mkdir(final, 0o755)
			os.WriteFile(filepath.Join(final, ".env"), []byte("SECRET=1"), 0o644)
		}, "is not empty and is not a bake build"},
		{"an index that is a folder", func(t *testing.T, final string) {
			os.MkdirAll(filepath.Join(final, filepath.FromSlash(IndexFile)), 0o755)
		}, "is not empty and is not a bake build"},
		{"a file", func(t *testing.T, final string) { os.WriteFile(final, []byte("x"), 0o644) }, "not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			final := filepath.Join(parent, "out")
			tt.setup(t, final)
			before := readTree(t, parent)
			s, err := Begin(final)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Begin: %v", err)
				}
				beginIndex(t, s)
				if err := s.Commit(); err != nil {
					t.Fatal(err)
				}
				s.Wait()
				if err := s.RemoveOld(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), final) {
				if err == nil {
					s.Abort()
				}
				t.Fatalf("Begin = %v; want an error naming %s and containing %q", err, final, tt.err)
			}
			if diff := cmp.Diff(before, readTree(t, parent)); diff != "" {
				t.Errorf("a refused build changed the folder (-before +after):\n%s", diff)
			}
		})
	}
}

// beginIndex writes the (empty) index of a build being written.
func beginIndex(t testing.TB, s *Staging) {
	t.Helper()
	name, err := s.IndexPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBeginRefusesRoot(t *testing.T) {
	root := "/"
	if runtime.GOOS == "windows" {
		root = filepath.VolumeName(os.TempDir()) + `\`
	}
	if s, err := Begin(root); err == nil || !strings.Contains(err.Error(), "file system root") {
		if err == nil {
			s.Abort()
		}
		t.Fatalf("Begin(%q) = %v; want a refusal", root, err)
	}
}

// TestOpenInPlaceRefusesFolderItDidNotMake: an incremental update writes
// and removes files in place, so it also needs a build.
func TestOpenInPlaceRefusesFolderItDidNotMake(t *testing.T) {
	final := t.TempDir()
	os.WriteFile(filepath.Join(final, "notes.txt"), []byte("mine"), 0o644)
	if u, err := OpenInPlace(final); err == nil || !strings.Contains(err.Error(), "not a bake build") {
		if err == nil {
			u.Close()
		}
		t.Fatalf("OpenInPlace = %v; want a refusal", err)
	}
}

// TestLockIsPerOutput: two build folders in one parent folder build at
// once; the same folder twice does not, and the error names it. No lock
// file is left behind.
func TestLockIsPerOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no build lock on Windows")
	}
	parent := t.TempDir()
	a, err := Begin(filepath.Join(parent, "_site"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Begin(filepath.Join(parent, "other"))
	if err != nil {
		t.Fatalf("a second site's build in the same folder: %v", err)
	}
	_, err = Begin(filepath.Join(parent, "other"))
	if want := "another bake build is writing " + filepath.Join(parent, "other"); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("third Begin: %v; want %q", err, want)
	}
	a.Abort()
	b.Abort()
	for _, name := range []string{"._site.lock", ".other.lock"} {
		if _, err := os.Stat(filepath.Join(parent, name)); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	c, err := Begin(filepath.Join(parent, "other"))
	if err != nil {
		t.Fatalf("Begin after release: %v", err)
	}
	c.Abort()
}
