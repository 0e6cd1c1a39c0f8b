package output

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestFragmentsPersistAndCopy(t *testing.T) {
	ctx := context.Background()
	old := t.TempDir()
	f, err := OpenFragments(ctx, old, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Get("k1"); ok {
		t.Fatal("empty cache has k1")
	}
	f.Put("k1", []byte("<li>one</li>"))
	f.Put("k2", []byte("<li>two</li>"))
	if b, ok := f.Get("k1"); !ok || string(b) != "<li>one</li>" {
		t.Fatalf("Get(k1) before flush = %q, %v", b, ok)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: the fragments are on disk.
	f, err = OpenFragments(ctx, old, "")
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := f.Get("k2"); !ok || string(b) != "<li>two</li>" {
		t.Fatalf("Get(k2) after reopen = %q, %v", b, ok)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// A new folder reading the old one's cache keeps only what it used.
	fresh := t.TempDir()
	f, err = OpenFragments(ctx, fresh, old)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := f.Get("k1"); !ok || string(b) != "<li>one</li>" {
		t.Fatalf("Get(k1) through the previous cache = %q, %v", b, ok)
	}
	f.Put("k3", []byte("three"))
	n, err := f.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("new cache holds %d fragments, want 2 (k1 copied, k3 new; k2 not used)", n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// A previous folder without a cache is no error.
	f, err = OpenFragments(ctx, t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Get("k1"); ok {
		t.Error("cache of a folder without one has k1")
	}
	f.Close()
}

// TestFragmentsDamaged checks that a damaged index is no cache (every
// lookup misses) rather than wrong bytes, and that the cache then works.
func TestFragmentsDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f.Put("k1", []byte("one"))
	f.Put("k2", []byte("two"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(dir, filepath.FromSlash(FragmentsDir), "index")
	data := filepath.Join(dir, filepath.FromSlash(FragmentsDir), "data")
	good, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func(){
		"truncated index": func() { os.WriteFile(index, good[:len(good)-3], 0o644) },
		"zeroed index":    func() { os.WriteFile(index, make([]byte, len(good)), 0o644) },
		"short data":      func() { os.WriteFile(index, good, 0o644); os.Truncate(data, 2) },
	} {
		t.Run(name, func(t *testing.T) {
			damage()
			f, err := OpenFragments(ctx, dir, "")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, k := range []string{"k1", "k2"} {
				if b, ok := f.Get(k); ok {
					t.Errorf("Get(%s) = %q from a damaged cache", k, b)
				}
			}
			f.Put("k3", []byte("three"))
			if b, ok := f.Get("k3"); !ok || string(b) != "three" {
				t.Errorf("Get(k3) = %q, %v after a Put", b, ok)
			}
		})
	}
}

// TestFragmentsLog checks that an incremental build appends its fragments
// to index.log, and that the log is merged into the index once it grows.
func TestFragmentsLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *Fragments {
		t.Helper()
		f, err := OpenFragments(ctx, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	files := filepath.Join(dir, filepath.FromSlash(FragmentsDir))
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(files, name))
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	f := open()
	for i := range 100 {
		f.Put(fmt.Sprint("k", i), []byte(fmt.Sprint("fragment ", i)))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if size("index") != 100*FragmentRecordSize || size("index.log") != -1 {
		t.Fatalf("after 100 fragments: index %d bytes, log %d", size("index"), size("index.log"))
	}
	f = open()
	f.Put("new", []byte("a new one"))
	f.Put("k7", []byte("not stored again"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if size("index") != 100*FragmentRecordSize || size("index.log") != FragmentRecordSize {
		t.Fatalf("after one more: index %d bytes, log %d; want the index as it was and one record in the log", size("index"), size("index.log"))
	}
	f = open()
	for k, want := range map[string]string{"new": "a new one", "k7": "fragment 7", "k99": "fragment 99"} {
		if b, ok := f.Get(k); !ok || string(b) != want {
			t.Errorf("Get(%s) = %q, %v; want %q", k, b, ok, want)
		}
	}
	for i := range 30 {
		f.Put(fmt.Sprint("more", i), []byte("more"))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if size("index") != 131*FragmentRecordSize || size("index.log") != -1 {
		t.Fatalf("after 30 more: index %d bytes, log %d; want all 131 merged into the index", size("index"), size("index.log"))
	}
	f = open()
	defer f.Close()
	if n, _ := f.Count(ctx); n != 131 {
		t.Errorf("count %d, want 131", n)
	}
	if b, ok := f.Get("new"); !ok || string(b) != "a new one" {
		t.Errorf("Get(new) after the merge = %q, %v", b, ok)
	}
}

// BenchmarkFragmentsGet measures a lookup of a stored fragment, what a
// {{cache "name" .}} hit costs in an incremental build.
func BenchmarkFragmentsGet(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	f, err := OpenFragments(ctx, dir, "")
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	html := []byte(`<li class="item-list__item"><a class="item-list__link" href="/items/item-42/">Cache purge static flat 42</a></li>`)
	for i := range n {
		f.Put(fmt.Sprintf("%032x", i), html)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	f, err = OpenFragments(ctx, dir, "")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := f.Get(fmt.Sprintf("%032x", i%n)); !ok {
			b.Fatal("miss")
		}
	}
}

// TestFragmentsBlocks stores fragments of many sizes (some larger than a
// block, many across a block's end), more than the block cache holds,
// and reads them back, in the order stored, in reverse, and through a new
// folder's cache: every read returns the bytes put.
func TestFragmentsBlocks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	frag := func(i int) []byte {
		n := 1 + i*7919%3000
		if i%500 == 0 {
			n = fragmentBlock + 1 + i
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + (i+j)%26)
		}
		return b
	}
	const n = 4000 // about 6 MB: more than fragmentBlocks blocks
	for i := range n {
		f.Put(fmt.Sprint("k", i), frag(i))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(f *Fragments, i int) {
		t.Helper()
		if b, ok := f.Get(fmt.Sprint("k", i)); !ok || string(b) != string(frag(i)) {
			t.Fatalf("fragment %d: got %d bytes (%v), want %d", i, len(b), ok, len(frag(i)))
		}
	}
	f, err = OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		check(f, i)
	}
	for i := n - 1; i >= 0; i-- {
		check(f, i)
	}
	// Put after open (appended, not in a cached block) reads back too.
	f.Put("late", []byte("late fragment"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = OpenFragments(ctx, t.TempDir(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < n; i += 3 {
		check(f, i)
	}
	if b, ok := f.Get("late"); !ok || string(b) != "late fragment" {
		t.Fatalf("late fragment: %q, %v", b, ok)
	}
}

// TestFragmentsMapped: with the data file mapped (as incremental builds
// read it), every fragment stored before open reads back the same, and so
// do those put after open (held in memory, or appended past the mapping).
func TestFragmentsMapped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	frag := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 1+i*7919%5000) }
	const n = 2000
	for i := range n {
		f.Put(fmt.Sprint("k", i), []byte(frag(i)))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f.Map()
	if runtime.GOOS != "windows" && f.mapped == nil {
		t.Fatal("Map did not map the data file")
	}
	for _, i := range []int{0, n - 1, 7, n / 2, 1, n - 2} {
		if b, ok := f.Get(fmt.Sprint("k", i)); !ok || string(b) != frag(i) {
			t.Fatalf("fragment %d: got %d bytes (%v), want %d", i, len(b), ok, len(frag(i)))
		}
	}
	if runtime.GOOS != "windows" && f.indexMapped == nil {
		t.Fatal("the index was read, not mapped")
	}
	f.Put("late", []byte("late fragment"))
	f.Put("later", []byte(strings.Repeat("x", fragmentFlush+1))) // flushed to the file now
	for k, want := range map[string]int{"late": len("late fragment"), "later": fragmentFlush + 1} {
		if b, ok := f.Get(k); !ok || len(b) != want {
			t.Fatalf("%s, put after open: %d bytes, %v", k, len(b), ok)
		}
	}
	if _, ok := f.Get("missing"); ok {
		t.Fatal("a key never put was found")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f.mapped != nil || f.indexMapped != nil {
		t.Error("Close left the data file or the index mapped")
	}
	// More fragments than a quarter of the index: Close merges them into
	// a new index, reading the mapped one; all are there after.
	f, err = OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f.Map()
	for i := range n {
		f.Put(fmt.Sprint("more", i), []byte(frag(i)))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = OpenFragments(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Map()
	for _, k := range []string{"k0", "k1999", "more0", "more1999", "late"} {
		if _, ok := f.Get(k); !ok {
			t.Errorf("%s is gone after the index was merged", k)
		}
	}
	if len(f.logged) != 0 {
		t.Errorf("%d records left in the log: the index was not merged", len(f.logged))
	}
}
