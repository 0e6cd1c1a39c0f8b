package build

import (
	"context"
	"sync"
	"time"
)

// abandonAfter is how long a cancelled build waits for the pages being
// rendered before it returns without them.
const abandonAfter = 500 * time.Millisecond

// waitWorkers waits until the workers of wg have returned, and returns
// nil. Once ctx is done it waits abandonAfter more at most, then returns
// a channel closed when they return: a page's Render that does not watch
// ctx (a Markdown conversion cannot be interrupted but by its own
// deadline) must not keep a cancelled build (Ctrl-C, SIGTERM) from
// returning. The workers drop what they render after ctx is done.
func waitWorkers(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	t := time.NewTimer(abandonAfter)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return done
	}
}

// cleanups are what a build closes or undoes as it returns, last added
// first. When it returns without waiting for its workers (see
// waitWorkers), after is set, and they are run in the background once the
// workers have returned: they may still read the fragment cache or write
// into the build folder. A process that exits before leaves the new
// build's folder for the next build to remove.
type cleanups struct {
	fns   []func()
	after <-chan struct{}
}

func (c *cleanups) add(f func()) { c.fns = append(c.fns, f) }

func (c *cleanups) run() {
	fns := c.fns
	all := func() {
		for i := len(fns) - 1; i >= 0; i-- {
			fns[i]()
		}
	}
	if c.after == nil {
		all()
		return
	}
	after := c.after
	go func() {
		<-after
		all()
	}()
}
