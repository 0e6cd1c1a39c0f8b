package build

import (
	"context"
	"io"
	"iter"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bakehq/bake"
)

// floorSite yields n detail-like pages (/items/item-N/, two deps each, a
// date) whose Render writes the same 10 KB of HTML: a full build of it
// costs what a page costs with no template and no query, the floor under
// a real site's pages (the file, its hash, its manifest line, the index).
type floorSite struct {
	n    int
	body []byte
}

func (s *floorSite) Pages(ctx context.Context) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		lastmod := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range s.n {
			key := strconv.Itoa(i)
			p := &bake.Page{Path: "/items/item-" + key + "/", Route: "item", Key: key, LastMod: lastmod,
				Deps:   []bake.Dep{bake.RowDep("items", key), bake.TableDep("items")},
				Render: func(ctx context.Context, w io.Writer) error { _, err := w.Write(s.body); return err }}
			if !yield(p, nil) {
				return
			}
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFloor builds BAKE_FLOOR_PAGES pages (default 10,000) of 10 KB in
// BAKE_FLOOR_DIR (default a temporary folder; use /dev/shm to leave the
// disk out) and reports CPU (user + system, the whole process) per page.
//
//	BAKE_FLOOR_PAGES=100000 BAKE_FLOOR_DIR=/dev/shm/floor go test -run '^$' -bench Floor -benchtime 3x ./build/
//
// BAKE_FLOOR_JSON=1 encodes the manifest lines with json.Encoder, as
// builds did before entryLine.
func BenchmarkFloor(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("BAKE_FLOOR_PAGES")); err == nil && v > 0 {
		n = v
	}
	dir := os.Getenv("BAKE_FLOOR_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	body := make([]byte, 10<<10)
	for i := range body {
		body[i] = "<p>lorem ipsum dolor sit amet</p>\n"[i%34]
	}
	site := &floorSite{n: n, body: body}
	// BAKE_FLOOR_JSON=1: manifest lines by json.Encoder, as before entryLine.
	jsonOnly = os.Getenv("BAKE_FLOOR_JSON") == "1"
	defer func() { jsonOnly = false }()
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		out := dir + "/site" + strconv.Itoa(i%2)
		c0 := cpuTime()
		if _, err := Build(context.Background(), site, Options{Output: out}); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/float64(n), "cpu-µs/page")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/page")
}
