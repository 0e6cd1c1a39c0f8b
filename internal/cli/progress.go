package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressSpec says what a progress display counts.
type progressSpec struct {
	verb string // "building"
	unit string // "pages"
	// total is what the count will reach, 0 when unknown: a spinner
	// instead of a bar. With estimate, it is a guess (the previous
	// build's pages), which the bar outgrows if the count passes it.
	total    int64
	estimate bool
	count    func() int64 // done so far, safe to call from any goroutine
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

// label is the text before the bar: what is done, how many of how many.
func (s progressSpec) label(n, total int64) string {
	switch {
	case s.total == 0 || total <= 0:
		return fmt.Sprintf("%s %d %s", s.doing(), n, s.unit)
	case s.estimate:
		return fmt.Sprintf("%s %d of about %d %s", s.doing(), n, total, s.unit)
	}
	return fmt.Sprintf("%s %d of %d %s", s.doing(), n, total, s.unit)
}

// startProgress shows a progress bar on a terminal, or logs a line every
// few seconds otherwise; the returned function stops it.
func startProgress(ctx context.Context, w io.Writer, log *slog.Logger, show bool, spec progressSpec) func() {
	return runProgress(ctx, w, log, show, isTerminal(w), spec)
}

// runProgress is startProgress, drawing a bar on w if bar is set.
func runProgress(ctx context.Context, w io.Writer, log *slog.Logger, show, bar bool, spec progressSpec) func() {
	if !show {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	if bar {
		pb := mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithRefreshRate(150*time.Millisecond))
		var style mpb.BarFillerBuilder = mpb.BarStyle()
		if spec.total == 0 {
			style = mpb.SpinnerStyle()
		}
		bar := pb.New(spec.total, style, mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(decor.Any(func(st decor.Statistics) string { return spec.label(st.Current, st.Total) })),
			mpb.AppendDecorators(decor.AverageSpeed(0, " %.0f "+spec.unit+"/s")))
		go func() {
			defer close(finished)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			var last int64
			total := spec.total
			for {
				select {
				case <-done:
					// Abort, not SetTotal(-1, true): a bar stopped short of its
					// total (a build with problems, a failed publish) never
					// completes that way, and Wait would wait for ever.
					bar.Abort(true)
					pb.Wait()
					return
				case <-t.C:
					n := spec.count()
					if t := grownTotal(total, n); t != total {
						total = t
						bar.SetTotal(total, false)
					}
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
					if spec.total == 0 {
						log.Info(spec.doing(), spec.unit, spec.count())
					} else if spec.estimate {
						log.Info(spec.doing(), spec.unit, spec.count(), "expected", spec.total)
					} else {
						log.Info(spec.doing(), spec.unit, spec.count(), "of", spec.total)
					}
				}
			}
		}()
	}
	return func() { close(done); <-finished }
}

// grownTotal returns the bar's total once the count is n: a bar whose
// count reaches its total completes (and disappears), so an estimate the
// count passes grows by a tenth ahead of it. 0 (a spinner) stays 0.
func grownTotal(total, n int64) int64 {
	if total == 0 || n < total {
		return total
	}
	return n + n/10 + 1
}
