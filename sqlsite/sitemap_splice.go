package sqlsite

import (
	"bytes"
	"context"
	"encoding/xml"
	"html"
	"io"
	"maps"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/sqlscan"
)

// An incremental build that adds or removes a page rewrites the sitemap.
// At 100,000 pages its files are 10 MB: parsing every URL of the last
// build's files, sorting them again and writing each anew took most of the
// time of an insert (issue 20). spliceSitemap instead takes the last
// build's files as lines of bytes, finds the lines of the changed pages by
// binary search (decoding only the lines it compares), splices in the new
// lines and writes the parts as runs of old lines: the same bytes as
// sitemapPages writes, a few milliseconds.

const (
	sitemapURLSet    = `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`
	sitemapIndexHead = `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`
)

// splicedSitemap is the sitemap of an incremental build, as the lines of
// the regions that changed: the whole sitemap (parts 0), or runs of its
// parts, each as many parts as it was (parts > 0).
type splicedSitemap struct {
	regions []sitemapRegion
	parts   int // the number of parts, when only regions changed
}

// sitemapRegion is a run of a sitemap's lines, as they are now.
type sitemapRegion struct {
	first int      // the number (from 0) of its first part
	lines [][]byte // "<url>…</url>", without the newline, in path order
	// was is, for each line, its index in the region's lines at the last
	// build, or -1 for a line that is new or other than it was.
	was []int
	// parts are the first lines of the region's parts at the last build,
	// as indexes in its lines then, and the end; nil when one file listed
	// the whole sitemap.
	parts []int
}

// spliceSitemap returns the URLs of the last build's sitemap with the
// changes of this pass (u.sitemapDelta) applied; ok is false when its
// files are not in the form sitemapPages writes (missing, another base
// URL, parts named otherwise): the caller merges the long way. Of a
// sitemap in parts it reads only the parts the changes fall in (and the
// parts cut with them: see sitemapCuts), unless the number of parts
// changes.
func (u *updateRun) spliceSitemap(r *Route) (*splicedSitemap, bool) {
	if !u.filesTrusted() {
		// A part may already hold the lines of the changes replayed: kept
		// as it is, its entry would stay the one before them.
		return nil, false
	}
	base := u.site.cfg.Site.BaseURL
	// The files stay mapped while the lines are in use: the pages are
	// rendered after this returns, and copying 10 MB of sitemap at 100,000
	// pages (fresh memory, faulted in) was a fifth of an insert into a
	// stable list. They are unmapped when the spliced lines are no longer
	// reachable (a cleanup on their array), or at once when the splice
	// fails. The build replaces those files by renaming new ones over
	// them: a mapping keeps the old bytes.
	var unmaps []func()
	kept := false
	defer func() {
		if !kept {
			unmapAll(unmaps)
		}
	}()
	read := func(p string) []byte {
		if m, ok := u.prev.(fileMapper); ok {
			b, unmap, err := m.MapFile(u.b.ctx, p)
			if err != nil {
				return nil
			}
			unmaps = append(unmaps, unmap)
			return b
		}
		b, err := u.prev.ReadFile(u.b.ctx, p)
		if err != nil {
			return nil
		}
		return b
	}
	head := []byte(xml.Header + sitemapURLSet + "\n")
	// urlset appends the lines of a part to lines.
	urlset := func(data []byte, lines [][]byte) ([][]byte, bool) {
		body, ok := bytes.CutPrefix(data, head)
		if !ok {
			return nil, false
		}
		lines = slices.Grow(lines, bytes.Count(body, []byte("\n")))
		if body, ok = bytes.CutSuffix(body, []byte("</urlset>\n")); !ok {
			return nil, false
		}
		for len(body) > 0 {
			i := bytes.IndexByte(body, '\n')
			if i < 0 {
				return nil, false
			}
			line := body[:i:i]
			if !bytes.HasPrefix(line, []byte("<url><loc>")) || !bytes.HasSuffix(line, []byte("</url>")) {
				return nil, false
			}
			lines = append(lines, line)
			body = body[i+1:]
		}
		return lines, true
	}
	data := read(r.Path)
	if data == nil {
		return nil, false
	}
	var files [][]byte // the parts, when the sitemap is in parts
	if body, ok := bytes.CutPrefix(data, []byte(xml.Header+sitemapIndexHead+"\n")); ok {
		body, ok = bytes.CutSuffix(body, []byte("</sitemapindex>\n"))
		if !ok {
			return nil, false
		}
		for i := 0; len(body) > 0; i++ {
			want := sitemapIndexLine(base, sitemapPart(r, i))
			if !bytes.HasPrefix(body, want) {
				return nil, false
			}
			body = body[len(want):]
			part := read(sitemapPart(r, i))
			if part == nil {
				return nil, false
			}
			files = append(files, part)
		}
	}
	deltas := slices.Sorted(maps.Keys(u.sitemapDelta))
	keep := func(sm *splicedSitemap) (*splicedSitemap, bool) {
		// Unmapped once no region's lines are reachable: the pages
		// rendering them hold the lines, not sm.
		left := new(atomic.Int32)
		for i := range sm.regions {
			if lines := sm.regions[i].lines; len(lines) > 0 {
				left.Add(1)
				runtime.AddCleanup(&lines[:1][0], func(left *atomic.Int32) {
					if left.Add(-1) == 0 {
						unmapAll(unmaps)
					}
				}, left)
			}
		}
		kept = left.Load() > 0
		return sm, true
	}
	if len(files) > 1 {
		if regions, ok := u.sitemapRegions(files, deltas, urlset); ok {
			return keep(&splicedSitemap{regions: regions, parts: len(files)})
		}
	}
	// The whole sitemap.
	var lines [][]byte
	var parts []int
	ok := true
	if files == nil {
		if lines, ok = urlset(data, nil); !ok {
			return nil, false
		}
	}
	for _, f := range files {
		parts = append(parts, len(lines))
		if lines, ok = urlset(f, lines); !ok {
			return nil, false
		}
	}
	if files != nil {
		parts = append(parts, len(lines))
	}
	out, was, ok := u.spliceLines(lines, deltas)
	if !ok {
		return nil, false
	}
	return keep(&splicedSitemap{regions: []sitemapRegion{{lines: out, was: was, parts: parts}}})
}

// sitemapRegions splices the changes of deltas (sorted) into the parts
// of a sitemap (files) they fall in, reading only those; ok is false when
// that cannot be done (the number of parts changes, a part is not in the
// form sitemapPages writes): the caller splices the whole sitemap.
func (u *updateRun) sitemapRegions(files [][]byte, deltas []string, urlset func([]byte, [][]byte) ([][]byte, bool)) ([]sitemapRegion, bool) {
	base := u.site.cfg.Site.BaseURL
	limit := u.site.sitemapMax
	head := []byte(xml.Header + sitemapURLSet + "\n")
	n := len(files)
	firsts := make([]string, n)
	natural := make([]bool, n) // the part starts at a URL that starts one (not a piece of a long run)
	total := 0
	for i, f := range files {
		body, ok := bytes.CutPrefix(f, head)
		j := bytes.IndexByte(body, '\n')
		if !ok || j < 0 {
			return nil, false
		}
		line := body[:j]
		if firsts[i], ok = sitemapLinePath(line, base); !ok {
			return nil, false
		}
		natural[i] = i == 0 || sitemapStarts(sitemapLoc(line), limit)
		total += bytes.Count(f, []byte("\n")) - 3 // the XML declaration, <urlset>, </urlset>
	}
	// The parts the changes fall in: a path goes in the last part that
	// starts at or before it. A change to the first URL of a part may end
	// that part (the URL goes): the part before joins it.
	touched := make([]bool, n)
	for _, p := range deltas {
		i := max(0, sort.Search(n, func(i int) bool { return firsts[i] > p })-1)
		touched[i] = true
		if i > 0 && firsts[i] == p {
			touched[i-1] = true
		}
	}
	// Regions: runs of parts from one that starts a run of URLs (see
	// sitemapCuts) to the last before the next, so that the cuts inside
	// each depend on its URLs alone.
	type span struct{ a, b int }
	var spans []span
	for i := 0; i < n; i++ {
		if !touched[i] {
			continue
		}
		a, b := i, i
		for a > 0 && !natural[a] {
			a--
		}
		for b+1 < n && (touched[b+1] || !natural[b+1]) {
			b++
		}
		if len(spans) > 0 && a <= spans[len(spans)-1].b {
			spans[len(spans)-1].b = b
		} else {
			spans = append(spans, span{a, b})
		}
		i = b
	}
	var regions []sitemapRegion
	for _, sp := range spans {
		var lines [][]byte
		parts := make([]int, 0, sp.b-sp.a+2)
		for i := sp.a; i <= sp.b; i++ {
			parts = append(parts, len(lines))
			var ok bool
			if lines, ok = urlset(files[i], lines); !ok {
				return nil, false
			}
		}
		parts = append(parts, len(lines))
		lo := sort.SearchStrings(deltas, firsts[sp.a])
		if sp.a == 0 {
			lo = 0
		}
		hi := len(deltas)
		if sp.b+1 < n {
			hi = sort.SearchStrings(deltas, firsts[sp.b+1])
		}
		out, was, ok := u.spliceLines(lines, deltas[lo:hi])
		if !ok || len(sitemapRuns(len(out), limit, func(i int) []byte { return sitemapLoc(out[i]) })) != sp.b-sp.a+1 {
			return nil, false // parts split or joined: renumbered
		}
		total += len(out) - len(lines)
		regions = append(regions, sitemapRegion{first: sp.a, lines: out, was: was, parts: parts})
	}
	if total <= limit {
		return nil, false // one file now
	}
	return regions, true
}

// spliceLines returns lines (a sitemap's, in path order) with the changes
// of paths (sorted) applied, each where a binary search puts it, and for
// each line its index in lines, or -1 for one new or changed.
func (u *updateRun) spliceLines(lines [][]byte, paths []string) (out [][]byte, was []int, ok bool) {
	base := u.site.cfg.Site.BaseURL
	bad := false
	pathAt := func(i int) string {
		p, ok := sitemapLinePath(lines[i], base)
		if !ok {
			bad = true
		}
		return p
	}
	out = make([][]byte, 0, len(lines)+len(paths))
	was = make([]int, 0, len(lines)+len(paths))
	from := 0 // lines before from are copied
	for _, p := range paths {
		it := u.sitemapDelta[p]
		i := from + sort.Search(len(lines)-from, func(j int) bool { return bad || pathAt(from+j) >= p })
		if bad {
			return nil, nil, false
		}
		out = append(out, lines[from:i]...)
		for k := from; k < i; k++ {
			was = append(was, k)
		}
		from = i
		replaced := -1
		if i < len(lines) && pathAt(i) == p {
			replaced = i
			from++ // replaced or removed
		}
		if bad {
			return nil, nil, false
		}
		if it.in {
			line := sitemapLine(base, p, it.lastmod)
			if replaced >= 0 && bytes.Equal(line, lines[replaced]) {
				line = lines[replaced] // as it was
			} else {
				replaced = -1
			}
			out = append(out, line)
			was = append(was, replaced)
		}
	}
	out = append(out, lines[from:]...)
	for k := from; k < len(lines); k++ {
		was = append(was, k)
	}
	return out, was, true
}

func unmapAll(unmaps []func()) {
	for _, f := range unmaps {
		f()
	}
}

// sitemapIndexLine is the line of a sitemap index naming part path.
func sitemapIndexLine(base, path string) []byte {
	var b bytes.Buffer
	b.WriteString("<sitemap><loc>")
	xml.EscapeText(&b, []byte(base+bake.EscapePath(path)))
	b.WriteString("</loc></sitemap>\n")
	return b.Bytes()
}

// sitemapLine is the line of a urlset listing path, as sitemapPages
// writes it (without the newline); lastmod 0 is none.
func sitemapLine(base, path string, lastmod int64) []byte {
	var b bytes.Buffer
	b.WriteString("<url><loc>")
	xml.EscapeText(&b, []byte(base+bake.EscapePath(path)))
	b.WriteString("</loc>")
	if lastmod != 0 {
		b.WriteString("<lastmod>" + time.Unix(lastmod, 0).UTC().Format(time.RFC3339) + "</lastmod>")
	}
	b.WriteString("</url>")
	return b.Bytes()
}

// sitemapLinePath returns the path of the page a urlset line lists; ok is
// false for a line sitemapLine does not write.
func sitemapLinePath(line []byte, base string) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("<url><loc>"))
	if !ok {
		return "", false
	}
	loc, _, ok := bytes.Cut(rest, []byte("</loc>"))
	if !ok {
		return "", false
	}
	full := html.UnescapeString(string(loc))
	if len(full) < len(base) || full[:len(base)] != base {
		return "", false
	}
	escaped := full[len(base):]
	path, err := url.PathUnescape(escaped)
	if err != nil || bake.EscapePath(path) != escaped {
		return "", false
	}
	return path, true
}

// sitemapDeps are the deps of the pages of a sitemap: every table the
// site's routes read.
func (s *Site) sitemapDeps() []bake.Dep {
	var deps []bake.Dep
	for _, rr := range s.cfg.Routes {
		for _, t := range sqlscan.Tables(rr.Query) {
			deps = append(deps, bake.TableDep(t))
		}
	}
	return bake.SortDeps(deps)
}

// emitSpliced yields the pages of sitemap route r from sm, as
// sitemapPages would from the same URLs, but for the files that would be
// as they were (a part listing the same lines as the last build's part of
// its number; the index of as many parts): keep is given their paths.
func (b *buildRun) emitSpliced(r *Route, sm *splicedSitemap, keep func(path string)) bool {
	const ct = "application/xml; charset=utf-8"
	deps := b.site.sitemapDeps()
	base := b.site.cfg.Site.BaseURL
	writeURLs := func(w io.Writer, lines [][]byte) error {
		// Straight into w when it is a buffer (a build's render buffer):
		// a part is 5 MB, and a copy of it is a fresh 5 MB to fault in.
		bw, ok := w.(*bytes.Buffer)
		if !ok {
			bw = &bytes.Buffer{}
		}
		size := len(xml.Header) + len(sitemapURLSet) + len("\n</urlset>\n")
		for _, l := range lines {
			size += len(l) + 1
		}
		bw.Grow(size)
		bw.WriteString(xml.Header + sitemapURLSet + "\n")
		for _, l := range lines {
			bw.Write(l)
			bw.WriteByte('\n')
		}
		bw.WriteString("</urlset>\n")
		if !ok {
			_, err := w.Write(bw.Bytes())
			return err
		}
		return nil
	}
	// parts yields the parts of region rg cut at cuts, or keeps those that
	// list the lines they did.
	parts := func(rg *sitemapRegion, cuts []int) bool {
		for i, from := range cuts {
			end := len(rg.lines)
			if i+1 < len(cuts) {
				end = cuts[i+1]
			}
			path := sitemapPart(r, rg.first+i)
			if rg.sameAsBefore(i, from, end) {
				keep(path)
				continue
			}
			lines := rg.lines[from:end]
			if !b.emitUnlisted(&bake.Page{Path: path, Route: r.Name, ContentType: ct, Deps: deps,
				Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, lines) }}) {
				return false
			}
		}
		return true
	}
	if sm.parts > 0 { // regions of as many parts as they had: the others, and the index, are as they were
		keep(r.Path)
		done := make([]bool, sm.parts)
		for i := range sm.regions {
			rg := &sm.regions[i]
			cuts := sitemapRuns(len(rg.lines), b.site.sitemapMax, func(i int) []byte { return sitemapLoc(rg.lines[i]) })
			for k := range cuts {
				done[rg.first+k] = true
			}
			if !parts(rg, cuts) {
				return false
			}
		}
		for i, d := range done {
			if !d {
				keep(sitemapPart(r, i))
			}
		}
		return true
	}
	rg := &sm.regions[0]
	cuts := sitemapCuts(len(rg.lines), b.site.sitemapMax, func(i int) []byte { return sitemapLoc(rg.lines[i]) })
	if cuts == nil {
		return b.emitUnlisted(&bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, rg.lines) }})
	}
	if len(rg.parts)-1 == len(cuts) {
		keep(r.Path)
	} else {
		index := &bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error {
				var buf bytes.Buffer
				buf.WriteString(xml.Header + sitemapIndexHead + "\n")
				for i := range cuts {
					buf.Write(sitemapIndexLine(base, sitemapPart(r, i)))
				}
				buf.WriteString("</sitemapindex>\n")
				_, err := w.Write(buf.Bytes())
				return err
			}}
		if !b.emitUnlisted(index) {
			return false
		}
	}
	return parts(rg, cuts)
}

// sameAsBefore reports whether the region's part i, its lines from to
// end, lists the lines it did at the last build.
func (sm *sitemapRegion) sameAsBefore(i, from, end int) bool {
	if i+1 >= len(sm.parts) || sm.parts[i+1]-sm.parts[i] != end-from {
		return false
	}
	for k := from; k < end; k++ {
		if sm.was[k] != sm.parts[i]+k-from {
			return false
		}
	}
	return true
}
