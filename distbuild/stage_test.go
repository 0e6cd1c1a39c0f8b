package distbuild

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bakehq/bake/publish"
	"gocloud.dev/blob/fileblob"
)

// TestStageRefreshesOld checks that a file staged long ago is staged again
// (made new, so that bake prune keeps it while this build runs), and one
// staged recently is not sent again.
func TestStageRefreshesOld(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bucket, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	key := StagedKey("ab")
	if err := stage(ctx, bucket, key, []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.FromSlash(key))
	mtime := func() time.Time {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	recent := mtime()
	if err := stage(ctx, bucket, key, []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	if !mtime().Equal(recent) {
		t.Error("a file staged just now was sent again")
	}
	old := time.Now().Add(-publish.StagedRefresh - time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := stage(ctx, bucket, key, []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	if time.Since(mtime()) > time.Minute {
		t.Errorf("a file staged %s ago was not staged again", publish.StagedRefresh)
	}
}
