package cli

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestProgressDoing(t *testing.T) {
	for _, c := range []struct {
		name  string
		phase func() string
		want  string
	}{
		{"no phase", nil, "building"},
		{"phase not started", func() string { return "" }, "building"},
		{"phase", func() string { return "live; removing the previous build" }, "live; removing the previous build"},
	} {
		s := progressSpec{verb: "building", unit: "pages", phase: c.phase}
		if got := s.doing(); got != c.want {
			t.Errorf("%s: doing() = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestGrownTotal(t *testing.T) {
	for _, c := range []struct{ total, n, want int64 }{
		{0, 500, 0},       // a spinner stays one
		{1000, 0, 1000},   // nothing done yet
		{1000, 999, 1000}, // below the estimate
		{1000, 1000, 1101},
		{1000, 5000, 5501},
	} {
		if got := grownTotal(c.total, c.n); got != c.want {
			t.Errorf("grownTotal(%d, %d) = %d, want %d", c.total, c.n, got, c.want)
		}
	}
}

func TestProgressLabel(t *testing.T) {
	for _, c := range []struct {
		spec     progressSpec
		n, total int64
		want     string
	}{
		{progressSpec{verb: "building", unit: "pages"}, 12, 0, "building 12 pages"},
		{progressSpec{verb: "building", unit: "pages", total: 100, estimate: true}, 12, 100, "building 12 of about 100 pages"},
		{progressSpec{verb: "uploading", unit: "files", total: 100}, 12, 100, "uploading 12 of 100 files"},
	} {
		if got := c.spec.label(c.n, c.total); got != c.want {
			t.Errorf("label(%d, %d) = %q, want %q", c.n, c.total, got, c.want)
		}
	}
}

// TestProgressBarStopsShort: a bar stopped before its count reaches its
// total (a build with problems, a failed publish) returns at once; it used
// to wait for ever for the bar to complete.
func TestProgressBarStopsShort(t *testing.T) {
	for _, total := range []int64{0, 100} {
		var out bytes.Buffer
		stop := runProgress(context.Background(), &out, slog.New(slog.DiscardHandler), true, true,
			progressSpec{verb: "building", unit: "pages", total: total, estimate: true, count: func() int64 { return 5 }})
		time.Sleep(250 * time.Millisecond)
		done := make(chan struct{})
		go func() { stop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("total %d: stop did not return", total)
		}
	}
}
