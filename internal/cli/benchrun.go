package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/bakehq/bake/internal/bucketurl"
	"github.com/bakehq/bake/publish"
)

// runLatency is what bake bench --run measured: seconds from an UPDATE's
// commit to the changed page being in the target.
type runLatency struct {
	Updates int     `json:"updates"`
	Median  float64 `json:"median_seconds"`
	P99     float64 `json:"p99_seconds"`
	Max     float64 `json:"max_seconds"`
}

// benchLive starts bake run on the bench site in dir, publishing to target,
// and measures the time from an UPDATE's commit to the changed page being
// in the target: 100 single-row updates one after another ("single"), and
// a stream of 50 updates a second for 10 seconds ("stream").
func benchLive(ctx context.Context, dir, target string, f benchFlags) (map[string]runLatency, error) {
	db, err := benchCapture(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	u, err := bucketURL(target)
	if err != nil {
		return nil, err
	}
	bucket, err := bucketurl.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("bench: open %s: %w", target, err)
	}
	defer bucket.Close()

	child, _, err := startBenchChild(ctx, regexp.MustCompile(`metrics on http://`), "run", "-C", dir, "--to", target, "--addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer child.stop()

	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(f.seed), 18))
	// Each update takes a row no other took: a row updated twice before
	// its page is published never shows the first title.
	order := rng.Perm(n)
	seq := 0
	// update changes the title of a random published row and returns the
	// key of its page and the title to look for.
	update := func() (key, title string, at time.Time, err error) {
		if seq >= len(order) {
			return "", "", time.Time{}, fmt.Errorf("every row was updated once: use more --items")
		}
		id := order[seq] + 1
		seq++
		var slug string
		if err := db.QueryRowContext(ctx, "SELECT slug FROM items WHERE id = ? AND published", id).Scan(&slug); err != nil {
			if err == sql.ErrNoRows {
				return "", "", time.Time{}, nil
			}
			return "", "", time.Time{}, err
		}
		title = fmt.Sprintf("bench run %d %d", time.Now().UnixNano(), seq)
		if _, err := db.ExecContext(ctx, "UPDATE items SET title = ? WHERE id = ?", title, id); err != nil {
			return "", "", time.Time{}, err
		}
		return "items/" + slug + "/index.html", title, time.Now(), nil
	}
	has := func(key, title string) bool {
		b, err := bucket.ReadAll(ctx, key)
		if err != nil {
			return false
		}
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				b, _ = io.ReadAll(zr)
			}
		}
		return bytes.Contains(b, []byte(title))
	}
	// The first publish of a new target takes the whole site.
	key, title, _, err := update()
	for key == "" && err == nil {
		key, title, _, err = update()
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// ... and it is finished when the target has the manifest, written
	// after every page; a page alone may come early in a long publish.
	// A target the bench cannot read (no credentials, no region) fails
	// here, rather than after the deadline.
	done := func() (bool, error) {
		ok, err := bucket.Exists(ctx, publish.RootKey)
		if err != nil {
			return false, fmt.Errorf("bench: read %s: %w", publish.RootKey, err)
		}
		return ok && has(key, title), nil
	}
	for deadline := time.Now().Add(30 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if ok, err := done(); err != nil {
			return nil, err
		} else if ok {
			break
		}
		if err := child.stopped(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: the first publish did not finish: %s", child.logs.String())
		}
	}

	wait := func(key, title string, at time.Time) (float64, error) {
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
			if has(key, title) {
				return time.Since(at).Seconds(), nil
			}
			if err := child.stopped(); err != nil {
				return 0, err
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("bench: %s did not reach the target: %s", key, child.logs.String())
			}
		}
	}
	res := map[string]runLatency{}
	var single []float64
	for len(single) < 100 {
		key, title, at, err := update()
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		if key == "" {
			continue
		}
		s, err := wait(key, title, at)
		if err != nil {
			return nil, err
		}
		single = append(single, s)
	}
	res["single"] = latencies(single)

	// A stream of 50 updates a second for 10 seconds. One watcher looks
	// for the pages (a goroutine polling each page every 5 ms would ask
	// the target hundreds of times per millisecond, and an S3 server on
	// the same machine would then measure its own load): a build takes
	// every change committed before it starts, so the page of the oldest
	// update still pending comes first, or with those after it. The watcher
	// asks for that one; once it is there, it asks for the next ones too,
	// in parallel, up to the first that is not.
	type pending struct {
		key, title string
		at         time.Time
	}
	var (
		mu      sync.Mutex
		queue   []pending
		stream  []float64
		sending = true
	)
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- func() error {
			deadline := time.Now().Add(2 * time.Minute)
			for {
				mu.Lock()
				q, more := slices.Clone(queue), sending
				mu.Unlock()
				if len(q) == 0 {
					if !more {
						return nil
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if !has(q[0].key, q[0].title) {
					if err := child.stopped(); err != nil {
						return err
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("bench: %s did not reach the target: %s", q[0].key, child.logs.String())
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				found := []float64{time.Since(q[0].at).Seconds()}
				for batch := range slices.Chunk(q[1:], 16) {
					got := make([]float64, len(batch))
					var wg sync.WaitGroup
					for i, p := range batch {
						wg.Go(func() {
							if has(p.key, p.title) {
								got[i] = time.Since(p.at).Seconds()
							}
						})
					}
					wg.Wait()
					n := slices.Index(got, 0)
					if n < 0 {
						n = len(got)
					}
					found = append(found, got[:n]...)
					if n < len(got) {
						break
					}
				}
				mu.Lock()
				stream = append(stream, found...)
				queue = queue[len(found):]
				mu.Unlock()
				deadline = time.Now().Add(2 * time.Minute)
			}
		}()
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	for range 500 {
		<-tick.C
		key, title, at, err := update()
		if err != nil {
			tick.Stop()
			return nil, fmt.Errorf("bench: %w", err)
		}
		if key == "" {
			continue
		}
		mu.Lock()
		queue = append(queue, pending{key, title, at})
		mu.Unlock()
	}
	tick.Stop()
	mu.Lock()
	sending = false
	mu.Unlock()
	if err := <-watchErr; err != nil {
		return nil, err
	}
	res["stream"] = latencies(stream)
	return res, nil
}

func latencies(s []float64) runLatency {
	slices.Sort(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return runLatency{Updates: len(s), Median: at(0.5), P99: at(0.99), Max: s[len(s)-1]}
}
