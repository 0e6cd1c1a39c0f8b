package cli

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressSpec says what a progress display counts.
type progressSpec struct {
	verb  string       // "building"
	unit  string       // "pages"
	total int64        // 0 when unknown: a spinner instead of a bar
	count func() int64 // done so far, safe to call from any goroutine
	// phase, when set and not "", replaces verb: what the command does
	// once the counting is over (a build removing the one it replaced).
	phase func() string
}

// doing returns what the display says the command is doing.
func (s progressSpec) doing() string {
	if s.phase != nil {
		if p := s.phase(); p != "" {
			return p
		}
	}
	return s.verb
}

// startProgress shows a progress bar on a terminal, or logs a line every
// few seconds otherwise; the returned function stops it.
func startProgress(ctx context.Context, w io.Writer, log *slog.Logger, show bool, spec progressSpec) func() {
	if !show {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	if isTerminal(w) {
		pb := mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithRefreshRate(150*time.Millisecond))
		var style mpb.BarFillerBuilder = mpb.BarStyle()
		if spec.total == 0 {
			style = mpb.SpinnerStyle()
		}
		bar := pb.New(spec.total, style, mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return spec.doing() + " " }), decor.CurrentNoUnit("%d "+spec.unit)),
			mpb.AppendDecorators(decor.AverageSpeed(0, " %.0f "+spec.unit+"/s")))
		go func() {
			defer close(finished)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			var last int64
			for {
				select {
				case <-done:
					bar.IncrInt64(spec.count() - last)
					bar.SetTotal(-1, true)
					pb.Wait()
					return
				case <-t.C:
					n := spec.count()
					bar.EwmaIncrInt64(n-last, 100*time.Millisecond)
					last = n
				}
			}
		}()
	} else {
		go func() {
			defer close(finished)
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					log.Info(spec.doing(), spec.unit, spec.count(), "of", spec.total)
				}
			}
		}()
	}
	return func() { close(done); <-finished }
}
