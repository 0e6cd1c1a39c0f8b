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

// splicedSitemap is the sitemap of an incremental build, as lines.
type splicedSitemap struct {
	lines [][]byte // "<url>…</url>", without the newline, in path order
	// was is, for each line, its index in the last build's lines, or -1
	// for a line that is new or other than it was.
	was []int
	// parts are the first lines of the last build's parts, as indexes in
	// its lines, and their number, len(parts)-1: the last is the end. Nil
	// when one file listed them all.
	parts []int
}

// spliceSitemap returns the URLs of the last build's sitemap with the
// changes of this pass (u.sitemapDelta) applied; ok is false when its
// files are not in the form sitemapPages writes (missing, another base
// URL, parts named otherwise): the caller merges the long way.
func (u *updateRun) spliceSitemap(r *Route) (*splicedSitemap, bool) {
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
	var lines [][]byte
	var parts []int
	urlset := func(data []byte) bool {
		body, ok := bytes.CutPrefix(data, head)
		if !ok {
			return false
		}
		lines = slices.Grow(lines, bytes.Count(body, []byte("\n")))
		if body, ok = bytes.CutSuffix(body, []byte("</urlset>\n")); !ok {
			return false
		}
		for len(body) > 0 {
			i := bytes.IndexByte(body, '\n')
			if i < 0 {
				return false
			}
			line := body[:i:i]
			if !bytes.HasPrefix(line, []byte("<url><loc>")) || !bytes.HasSuffix(line, []byte("</url>")) {
				return false
			}
			lines = append(lines, line)
			body = body[i+1:]
		}
		return true
	}
	data := read(r.Path)
	if data == nil {
		return nil, false
	}
	if body, ok := bytes.CutPrefix(data, []byte(xml.Header+sitemapIndexHead+"\n")); ok {
		body, ok = bytes.CutSuffix(body, []byte("</sitemapindex>\n"))
		if !ok {
			return nil, false
		}
		for i := 0; len(body) > 0; i++ {
			parts = append(parts, len(lines))
			want := sitemapIndexLine(base, sitemapPart(r, i))
			if !bytes.HasPrefix(body, want) {
				return nil, false
			}
			body = body[len(want):]
			part := read(sitemapPart(r, i))
			if part == nil || !urlset(part) {
				return nil, false
			}
		}
		parts = append(parts, len(lines))
	} else if !urlset(data) {
		return nil, false
	}

	// The changes, in path order, each where a binary search puts it.
	bad := false
	pathAt := func(i int) string {
		p, ok := sitemapLinePath(lines[i], base)
		if !ok {
			bad = true
		}
		return p
	}
	out := make([][]byte, 0, len(lines)+len(u.sitemapDelta))
	was := make([]int, 0, len(lines)+len(u.sitemapDelta))
	from := 0 // lines before from are copied
	for _, p := range slices.Sorted(maps.Keys(u.sitemapDelta)) {
		it := u.sitemapDelta[p]
		i := from + sort.Search(len(lines)-from, func(j int) bool { return bad || pathAt(from+j) >= p })
		if bad {
			return nil, false
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
			return nil, false
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
	if len(out) > 0 && len(unmaps) > 0 {
		kept = true
		runtime.AddCleanup(&out[:1][0], unmapAll, unmaps)
	}
	return &splicedSitemap{lines: out, was: was, parts: parts}, true
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
	n := len(sm.lines)
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
	cuts := sitemapCuts(n, b.site.sitemapMax, func(i int) []byte { return sitemapLoc(sm.lines[i]) })
	if cuts == nil {
		return b.emitUnlisted(&bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, sm.lines) }})
	}
	parts := len(cuts)
	if len(sm.parts)-1 == parts {
		keep(r.Path)
	} else {
		index := &bake.Page{Path: r.Path, Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error {
				var buf bytes.Buffer
				buf.WriteString(xml.Header + sitemapIndexHead + "\n")
				for i := range parts {
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
	for i, from := range cuts {
		end := n
		if i+1 < parts {
			end = cuts[i+1]
		}
		if sm.sameAsBefore(i, from, end) {
			keep(sitemapPart(r, i))
			continue
		}
		lines := sm.lines[from:end]
		if !b.emitUnlisted(&bake.Page{Path: sitemapPart(r, i), Route: r.Name, ContentType: ct, Deps: deps,
			Render: func(ctx context.Context, w io.Writer) error { return writeURLs(w, lines) }}) {
			return false
		}
	}
	return true
}

// sameAsBefore reports whether part i, the lines from to end, lists the
// lines the last build's part i did.
func (sm *splicedSitemap) sameAsBefore(i, from, end int) bool {
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
