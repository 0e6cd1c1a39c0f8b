package cli

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake/internal/benchsite"
	"github.com/bakehq/bake/serve"
)

// serveCases are the edits bake bench --serve times, in order.
var serveCases = []string{"template", "row"}

// benchServe starts bake serve on the bench site in dir, with change
// capture installed, and times f.runs times each edit of serveCases from
// the edit to the reload event that open pages receive; it returns the
// median seconds of each.
func benchServe(ctx context.Context, dir string, f benchFlags) (map[string]float64, error) {
	db, err := benchCapture(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	child, base, err := startBenchChild(ctx, regexp.MustCompile(`on (http://127\.0\.0\.1:[0-9]+)/`), "serve", "-C", dir, "--addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer child.stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+serve.ReloadPath, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer resp.Body.Close()
	reloads := make(chan time.Time, 16)
	go func() {
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "event: reload") {
				reloads <- time.Now()
			}
		}
	}()

	home := filepath.Join(dir, "templates", "home.html")
	orig, err := os.ReadFile(home)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.WriteFile(home, orig, 0o644)
	edits := map[string]func(i int) error{
		"template": func(i int) error {
			return os.WriteFile(home, fmt.Appendf(slices.Clone(orig), "<!-- edit %d -->\n", i), 0o644)
		},
		"row": func(int) error {
			_, err := benchsite.Mutate(ctx, db, benchsite.DialectSQLite, benchsite.MutateTitle, benchsite.Options{Items: f.items, Seed: f.seed})
			return err
		},
	}
	out := map[string]float64{}
	for _, c := range serveCases {
		var times []float64
		for i := range f.runs {
			time.Sleep(300 * time.Millisecond) // apart from the last edit's events
			drain(reloads)
			start := time.Now()
			if err := edits[c](i); err != nil {
				return nil, fmt.Errorf("bench: %s edit: %w", c, err)
			}
			select {
			case at := <-reloads:
				times = append(times, at.Sub(start).Seconds())
			case <-time.After(5 * time.Minute):
				return nil, fmt.Errorf("bench: no reload after the %s edit: %s", c, child.logs.String())
			}
		}
		slices.Sort(times)
		out[c] = times[len(times)/2]
	}
	return out, nil
}

func drain(c chan time.Time) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
