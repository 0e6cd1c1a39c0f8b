package cli

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake/capture"
)

// benchCapture opens the bench site's database in dir with change capture
// installed on its items, as bake watch --install does, for the benches
// of incremental builds, serve and run.
func benchCapture(ctx context.Context, dir string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "bench.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := capture.Install(ctx, db, capture.SQLite, []string{"items"}); err != nil {
		db.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	os.Remove(filepath.Join(dir, "bench.db.stamp")) // the data will no longer match the seed
	return db, nil
}

// benchChild is a long-running bake process of a bench (bake serve, bake
// run): started by startBenchChild, stopped (with an interrupt) by stop.
type benchChild struct {
	name   string // for messages: "bake serve"
	logs   lockedBuffer
	cancel context.CancelFunc
	exited chan struct{}
}

// startBenchChild starts this bake with args and waits until a line of its
// standard output matches ready; it returns the first submatch of that
// line (or the whole match). It fails at once if the process stops first.
func startBenchChild(ctx context.Context, ready *regexp.Regexp, args ...string) (*benchChild, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("bench: %w", err)
	}
	c := &benchChild{name: "bake " + args[0], exited: make(chan struct{})}
	ctx, c.cancel = context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "BAKE_TEST_MAIN=1") // lets a test binary act as bake
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.cancel()
		return nil, "", fmt.Errorf("bench: %w", err)
	}
	cmd.Stderr = &c.logs
	if err := cmd.Start(); err != nil {
		c.cancel()
		return nil, "", fmt.Errorf("bench: start %s: %w", c.name, err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[len(m)-1]:
				default: // reported already
				}
			}
		}
		cmd.Wait() // after the last read of stdout, as exec asks
		close(c.exited)
	}()
	select {
	case s := <-found:
		return c, s, nil
	case <-c.exited:
		return nil, "", c.stopped()
	case <-time.After(10 * time.Minute):
		c.stop()
		return nil, "", fmt.Errorf("bench: %s did not start: %s", c.name, c.logs.String())
	}
}

// stopped returns an error, with the process's log, once it has stopped;
// nil while it runs.
func (c *benchChild) stopped() error {
	select {
	case <-c.exited:
		return fmt.Errorf("bench: %s stopped: %s", c.name, c.logs.String())
	default:
		return nil
	}
}

// stop interrupts the process and waits for it to end.
func (c *benchChild) stop() {
	c.cancel()
	<-c.exited
}

// lockedBuffer is a strings.Builder safe for a process's writes and our
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
