package distbuild

import (
	"context"
	"sync"
)

// forEach calls do for each item, n at once, until one fails: its error
// is returned, and the calls still running see their context cancelled.
// Without a failure it returns ctx's error, if ctx ended meanwhile.
func forEach[T any](ctx context.Context, n int, items []T, do func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan T)
	for range max(n, 1) {
		wg.Go(func() {
			for it := range work {
				if err := do(ctx, it); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
