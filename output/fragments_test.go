package output

import (
	"context"
	"fmt"
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
