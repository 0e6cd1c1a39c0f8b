package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// ErrBadPath is wrapped by [Purge] for a path or prefix that is not a page
// path (empty, relative, with "." or ".." segments, NUL or backslashes).
var ErrBadPath = errors.New("not a page path")

// savePage writes data as the page at upath and puts its entry in the
// index: the file first, then the index, as an incremental build does.
// Its deps are url:PATH, those of tracked (what the page's handler
// recorded) and those on the rows it shows ([Options.Rows]).
func (p *Proxy) savePage(ctx context.Context, upath, ctype string, data []byte, tracked []bake.Dep) error {
	name, err := bake.FileName(upath)
	if err != nil {
		return err
	}
	deps := append([]bake.Dep{bake.Dep(KindURL + ":" + upath)}, tracked...)
	deps = bake.SortDeps(append(deps, p.rows.Load().deps(ctx, p.log, upath)...))
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" {
		ctype = http.DetectContentType(data)
	}
	// Once the folder and index are closed, the file server looks again
	// at once, not after its Recheck: this request and the waiting ones
	// are answered with the page just saved.
	defer p.files.Changed()
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	dir, err := openInPlace(ctx, p.dir)
	if err != nil {
		return err
	}
	defer dir.Close()
	idx, err := output.OpenIndex(ctx, p.dir)
	if err != nil {
		return err
	}
	defer idx.Close()
	if prev, ok, err := idx.Lookup(ctx, upath); err != nil {
		return err
	} else if ok && prev.Route != Route {
		return fmt.Errorf("save %s: the build's route %q made this page; the proxy leaves it", upath, prev.Route)
	}
	if err := dir.WriteFile(name, data); err != nil {
		return err
	}
	if err := dir.Commit(); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	e := bake.Entry{Path: upath, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Type: ctype,
		Route: Route, Deps: deps}
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false) // as builds write it
	if err := enc.Encode(&e); err != nil {
		return fmt.Errorf("save %s: %w", upath, err)
	}
	rec := output.Record{Entry: e, Line: bytes.TrimSuffix(line.Bytes(), []byte("\n"))}
	return idx.Apply(ctx, output.Update{Put: []output.Record{rec}})
}

// Purge removes saved pages from the build folder dir and its index: each
// of paths, and every page under prefix when it is not empty. Only pages
// the proxy saved (route [Route]) are removed; others are left, and
// returned as not purged. It returns the paths removed, sorted.
func Purge(ctx context.Context, dir string, paths []string, prefix string) ([]string, error) {
	for _, p := range paths {
		if _, err := bake.FileName(p); err != nil {
			return nil, fmt.Errorf("purge %q: %w", p, ErrBadPath)
		}
	}
	if prefix != "" && !validPrefix(prefix) {
		return nil, fmt.Errorf("purge prefix %q: %w", prefix, ErrBadPath)
	}
	idx, err := output.OpenIndex(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer idx.Close()
	var remove []string
	seen := map[string]bool{}
	for _, p := range paths {
		e, ok, err := idx.Lookup(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		if ok && e.Route == Route && !seen[p] {
			seen[p] = true
			remove = append(remove, p)
		}
	}
	if prefix != "" {
		for e, err := range idx.Outline(ctx) {
			if err != nil {
				return nil, fmt.Errorf("purge: %w", err)
			}
			if e.Route == Route && strings.HasPrefix(e.Path, prefix) && !seen[e.Path] {
				seen[e.Path] = true
				remove = append(remove, e.Path)
			}
		}
	}
	if len(remove) == 0 {
		return nil, nil
	}
	b, err := openInPlace(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer b.Close()
	// The index first: it records the paths in its trash, so that a crash
	// before the files are gone leaves a note for the next update.
	if err := idx.Apply(ctx, output.Update{Remove: remove}); err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	trash, err := idx.Trash(ctx)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	for _, p := range trash {
		name, err := bake.FileName(p)
		if err != nil {
			continue
		}
		if err := b.Remove(name); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
	}
	if err := idx.EmptyTrash(ctx, trash); err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	slices.Sort(remove)
	return remove, nil
}

// purge is Purge on the proxy's folder, one save or purge at a time.
func (p *Proxy) purge(ctx context.Context, paths []string, prefix string) ([]string, error) {
	defer p.files.Changed() // purged pages are misses from the next request on
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	return Purge(ctx, p.dir, paths, prefix)
}

// validPrefix reports whether prefix is the start of page paths.
func validPrefix(prefix string) bool { return cleanPath(&url.URL{Path: prefix}) }

// openInPlace opens the build folder dir for an update, waiting up to five
// seconds for a build or another save that holds its lock.
func openInPlace(ctx context.Context, dir string) (*output.InPlace, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := output.OpenInPlace(dir)
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "another bake build") {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ensureBuild makes an empty build in dir when it holds none.
func ensureBuild(ctx context.Context, dir string) error {
	if output.IsBuild(dir) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make build folder: %w", err)
	}
	st, err := output.Begin(dir)
	if err != nil {
		return err
	}
	name, err := st.IndexPath()
	if err != nil {
		st.Abort()
		return err
	}
	iw, err := output.NewIndexWriter(ctx, name)
	if err != nil {
		st.Abort()
		return err
	}
	if err := iw.Commit(ctx, nil); err != nil {
		st.Abort()
		return err
	}
	if err := st.Commit(); err != nil {
		return err
	}
	st.Wait()
	return nil
}
