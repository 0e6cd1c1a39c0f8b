package build

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// TestIndexAbortWhileAdding checks that throwing the index away while
// workers still add entries (a build that panicked, or returned early)
// neither panics nor blocks: their entries are dropped.
func TestIndexAbortWhileAdding(t *testing.T) {
	ctx := context.Background()
	stage, err := output.Begin(filepath.Join(t.TempDir(), "_site"))
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Abort()
	idx, err := newIndex(ctx, stage)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			<-start
			for i := range 2000 {
				e := bake.Entry{Path: fmt.Sprintf("/w%d/%d/", w, i), Route: "item", Key: fmt.Sprint(i), Type: "text/html; charset=utf-8"}
				idx.add(&e, []byte(fmt.Sprintf(`{"path":%q}`+"\n", e.Path)))
			}
		})
	}
	close(start)
	idx.abort()
	wg.Wait()
	idx.abort() // twice is fine
}
