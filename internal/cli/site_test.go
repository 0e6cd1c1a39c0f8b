package cli

import (
	"context"
	"testing"
)

// openItemsSite opens a site of ten items in a new folder.
func openItemsSite(t *testing.T) (*openedSite, string) {
	t.Helper()
	dir := t.TempDir()
	writeItemsSite(t, dir, 10, "item ")
	o, err := openSite(context.Background(), dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	return o, dir
}

// TestSiteMmap: the site's SQLite file is memory-mapped for incremental
// builds, and a full build reopens it unmapped (its peak RSS would
// otherwise count the whole file).
func TestSiteMmap(t *testing.T) {
	ctx := context.Background()
	o, _ := openItemsSite(t)
	mmapSize := func(o *openedSite) int64 {
		t.Helper()
		var n int64
		if err := o.db.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := mmapSize(o); got != sqliteMmapSize {
		t.Errorf("mmap_size = %d, want %d", got, sqliteMmapSize)
	}
	u, err := o.unmapped(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if got := mmapSize(u); got != 0 {
		t.Errorf("unmapped: mmap_size = %d, want 0", got)
	}
	if err := o.db.PingContext(ctx); err == nil {
		t.Error("unmapped left the mapped database open")
	}
	if again, _ := u.unmapped(ctx); again != u {
		t.Error("unmapped reopened a site already unmapped")
	}
}

// TestSiteMmapLargeFile: an SQLite file larger than sqliteMmapWhole is
// not mapped at all (every page an incremental build read through the map
// would count in its peak RSS).
func TestSiteMmapLargeFile(t *testing.T) {
	defer func(n int64) { sqliteMmapWhole = n }(sqliteMmapWhole)
	sqliteMmapWhole = 4096 // the ten items' file is larger
	o, _ := openItemsSite(t)
	defer o.Close()
	var n int64
	if err := o.db.QueryRowContext(context.Background(), "PRAGMA mmap_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("mmap_size = %d, want 0", n)
	}
}

// TestSiteUnmappedFails: when the site cannot be opened again for a full
// build (bake.toml broken in between), the error is returned and the site
// first opened stays open, for the caller to close.
func TestSiteUnmappedFails(t *testing.T) {
	ctx := context.Background()
	o, dir := openItemsSite(t)
	defer o.Close()
	writeSiteFiles(t, dir, map[string]string{"bake.toml": "[site\n"})
	u, err := o.unmapped(ctx)
	if err == nil || u != nil {
		t.Fatalf("unmapped = %v, %v; want an error", u, err)
	}
	if err := o.db.PingContext(ctx); err != nil {
		t.Errorf("the first site was closed: %v", err)
	}
}
