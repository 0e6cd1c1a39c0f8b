package sitecheck

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/cli"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use: bake serve
// writes to it while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// serveExample starts bake serve on a copy of the example site, in this
// process, and returns its base URL once its first build answers.
func serveExample(t *testing.T) string {
	t.Helper()
	dir := example(t)
	addr := testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		cli.Run(ctx, []string{"serve", "-C", dir, "--addr", addr}, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("bake serve did not stop within 10 s of its context's end")
		}
		if t.Failed() {
			t.Logf("bake serve printed:\n%s", out.String())
		}
	})
	testenv.WaitListening(t, addr, 2*time.Minute, exited, out.String)
	base := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bake serve: / did not answer 200 within 2 minutes (%v)\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browserIssues collects what goes wrong in a page as the browser sees it.
type browserIssues struct {
	mu   sync.Mutex
	list []string
}

func (b *browserIssues) add(format string, args ...any) {
	b.mu.Lock()
	b.list = append(b.list, fmt.Sprintf(format, args...))
	b.mu.Unlock()
}

func (b *browserIssues) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.list
	b.list = nil
	return l
}

// TestExampleInChromium loads the example site through bake serve in
// headless Chromium (Debian's), as a reader would: the home page, a list,
// a story, a race and a county. On each, no request fails (no 4xx or 5xx,
// no network error), nothing is written to the console as an error, no
// script throws, and the stylesheet applies (the body's computed
// background and margin are the ones site.css sets).
func TestExampleInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	base := serveExample(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	var issues browserIssues
	requests := map[network.RequestID]string{}
	var reqMu sync.Mutex
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			reqMu.Lock()
			requests[ev.RequestID] = ev.Request.URL
			reqMu.Unlock()
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				issues.add("%s: HTTP %d", ev.Response.URL, ev.Response.Status)
			}
		case *network.EventLoadingFailed:
			if ev.Canceled {
				return // the reload script's stream, closed by the next navigation
			}
			reqMu.Lock()
			u := requests[ev.RequestID]
			reqMu.Unlock()
			issues.add("%s: request failed: %s %s", u, ev.ErrorText, ev.BlockedReason)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				issues.add("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
			issues.add("exception: %s %s at %s:%d", d.Text, desc, d.URL, d.LineNumber+1)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				issues.add("console (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	visit := func(path string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 90*time.Second) // a loaded CI machine is slow
		defer cancel()
		resp, err := chromedp.Run(tctx, chromedp.NavigateResponse(base+path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if resp.Status != 200 {
			t.Errorf("%s: status %d", path, resp.Status)
		}
		style, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]string](
			`(() => { const s = getComputedStyle(document.body); return {background: s.backgroundColor, margin: s.marginTop, sheets: String(document.styleSheets.length)}; })()`))
		if err != nil {
			t.Fatalf("%s: computed style: %v", path, err)
		}
		if style["background"] != "rgb(250, 249, 246)" || style["margin"] != "0px" || style["sheets"] == "0" {
			t.Errorf("%s: the stylesheet did not apply: body background %s, margin %s, %s style sheets", path, style["background"], style["margin"], style["sheets"])
		}
		// Subresources (the favicon) may finish after the load event.
		time.Sleep(300 * time.Millisecond)
		for _, is := range issues.take() {
			t.Errorf("%s: %s", path, is)
		}
	}
	// firstLink returns the first link of the page whose path starts with
	// prefix and is longer, for a page whose URL the example's data decides.
	firstLink := func(prefix string) string {
		t.Helper()
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			fmt.Sprintf(`[...document.querySelectorAll('a[href^=%q]')].map(a => a.getAttribute('href')).find(h => h.length > %d && !h.includes('/page/')) || ''`, prefix, len(prefix))))
		if err != nil || href == "" {
			t.Fatalf("no link under %s on the page (%v)", prefix, err)
		}
		return href
	}

	visit("/")
	visit("/news/")
	visit(firstLink("/news/"))
	visit("/races/")
	visit(firstLink("/races/"))
	visit("/counties/")
	visit(firstLink("/counties/"))
}
