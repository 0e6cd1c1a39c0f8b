package sqlsite

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake"
)

// routeSalt hashes what every page of a route reads besides its own data:
// bake.toml, the template files and static files its template reaches
// (their content, not their mtime), and the results of the site queries it
// reads. It is part of the digest of each of the route's pages, so the
// digest changes exactly when one of those deps does, and an edit to a
// template another route uses leaves it alone.
func routeSalt(state map[string]string, rt *routeTemplate) string {
	h := sha256.New()
	fmt.Fprintf(h, "config=%s\n", state["config"])
	if rt == nil {
		return string(h.Sum(nil))
	}
	allAssets := slices.Contains(rt.deps, bake.AssetDep("*"))
	for _, k := range slices.Sorted(maps.Keys(state)) {
		v := state[k]
		switch {
		case strings.HasPrefix(k, "tmpl:") || strings.HasPrefix(k, "asset:") && !allAssets:
			if !slices.Contains(rt.deps, bake.Dep(k)) {
				continue
			}
			v = fileHash(v)
		case strings.HasPrefix(k, "asset:"):
			v = fileHash(v)
		case strings.HasPrefix(k, "query:"):
			if n := strings.TrimPrefix(k, "query:"); !rt.allData && !slices.Contains(rt.queries, n) {
				continue
			}
		default:
			continue
		}
		fmt.Fprintf(h, "%s=%s\n", k, v)
	}
	return string(h.Sum(nil))
}

// digester hashes the inputs of one page: its route, path, key and the
// data its template sees, besides .Site and .Data (in the salt).
type digester struct {
	buf  []byte
	keys []string
}

var digesters = sync.Pool{New: func() any { return &digester{buf: make([]byte, 0, 4096)} }}

// pageDigest returns the hex digest of a page's inputs (see
// [bake.Page.Digest]). The number of rows of the whole list
// (.Pager.TotalItems, or .Pager.Items) counts only when the template
// mentions it (showsItems): without it, a row added past a page leaves
// that page's inputs as they were.
func pageDigest(salt, route, path, key string, d *PageData, rt *routeTemplate) string {
	g := digesters.Get().(*digester)
	defer digesters.Put(g)
	g.buf = append(g.buf[:0], salt...)
	g.str(route)
	g.str(path)
	g.str(key)
	g.row(d.Row)
	g.int(int64(len(d.Rows)))
	for _, r := range d.Rows {
		g.row(r)
	}
	g.value(d.Group)
	g.pager(d.Pager, rt.showsItems(), rt.showsPages())
	g.period(d.Period)
	sum := sha256.Sum256(g.buf)
	if cap(g.buf) > 1<<20 {
		g.buf = make([]byte, 0, 4096)
	}
	return hex.EncodeToString(sum[:16])
}

// pager appends where a page sits in its list; the number of rows of the
// whole list only with items. A page of a stable list counts its number of
// pages only with pages (its links do not depend on it, but for the newest
// two pages': whether it is one of them is counted).
func (g *digester) pager(p *Pager, items, pages bool) {
	if p == nil {
		return
	}
	g.buf = append(g.buf, 'P')
	if p.stable {
		g.buf = append(g.buf, 'S')
		g.int(int64(p.Number))
		g.int(int64(min(p.Total-p.Number, 2)))
		if pages {
			g.int(int64(p.Total))
		}
	} else {
		g.int(int64(p.Number))
		g.int(int64(p.Total))
	}
	if items {
		g.int(int64(p.Items))
	}
	g.str(p.base)
}

// sameKeys reports whether r has the columns of the row encoded last, so
// that their sorted names can be used again: the rows of one query share
// them.
func (g *digester) sameKeys(r Row) bool {
	if len(g.keys) != len(r) || len(r) == 0 {
		return false
	}
	for _, k := range g.keys {
		if _, ok := r[k]; !ok {
			return false
		}
	}
	return true
}

func (g *digester) period(p *Period) {
	if p == nil {
		return
	}
	g.buf = append(g.buf, 'T')
	g.str(p.Kind)
	g.value(p.Time)
}

func (g *digester) int(n int64) {
	g.buf = binary.AppendVarint(g.buf, n)
}

func (g *digester) str(s string) {
	g.buf = binary.AppendUvarint(g.buf, uint64(len(s)))
	g.buf = append(g.buf, s...)
}

// row appends the columns of r in name order.
func (g *digester) row(r Row) {
	if r == nil {
		g.buf = append(g.buf, '-')
		return
	}
	if !g.sameKeys(r) {
		g.keys = g.keys[:0]
		for k := range r {
			g.keys = append(g.keys, k)
		}
		slices.Sort(g.keys)
	}
	g.buf = append(g.buf, 'R')
	g.int(int64(len(g.keys)))
	for _, k := range g.keys {
		g.str(k)
		g.value(r[k])
	}
}

// value appends a tagged encoding of a database value; two values that a
// template could tell apart never encode alike.
func (g *digester) value(v any) {
	switch v := v.(type) {
	case nil:
		g.buf = append(g.buf, 'n')
	case string:
		g.buf = append(g.buf, 's')
		g.str(v)
	case []byte:
		g.buf = append(g.buf, 'b')
		g.str(string(v))
	case int64:
		g.buf = append(g.buf, 'i')
		g.int(v)
	case int:
		g.buf = append(g.buf, 'i')
		g.int(int64(v))
	case int32:
		g.buf = append(g.buf, 'i')
		g.int(int64(v))
	case float64:
		g.buf = append(g.buf, 'f')
		g.buf = binary.LittleEndian.AppendUint64(g.buf, math.Float64bits(v))
	case bool:
		if v {
			g.buf = append(g.buf, 't')
		} else {
			g.buf = append(g.buf, 'F')
		}
	case time.Time:
		g.buf = append(g.buf, 'd')
		g.buf = v.AppendFormat(g.buf, time.RFC3339Nano)
		g.str(v.Location().String())
	default:
		// Any other type (PostgreSQL numerics, arrays, …): its printed form.
		g.buf = append(g.buf, 'x')
		g.str(fmt.Sprintf("%T %#v", v, v))
	}
}

// fragmentKey returns the key of the fragment that shared template name
// renders with dot arg: the template's salt (see routeSalt) and arg's
// content.
func fragmentKey(salt, name string, arg any) string {
	g := digesters.Get().(*digester)
	defer digesters.Put(g)
	g.buf = append(g.buf[:0], "fragment\x00"...)
	g.buf = append(g.buf, salt...)
	g.str(name)
	g.any(arg)
	sum := sha256.Sum256(g.buf)
	if cap(g.buf) > 1<<20 {
		g.buf = make([]byte, 0, 4096)
	}
	return hex.EncodeToString(sum[:16])
}

// any appends what a template can read of v.
func (g *digester) any(v any) {
	switch v := v.(type) {
	case Row:
		g.row(v)
	case map[string]any:
		g.row(v)
	case []Row:
		g.buf = append(g.buf, 'L')
		g.int(int64(len(v)))
		for _, r := range v {
			g.row(r)
		}
	case *PageData:
		g.buf = append(g.buf, 'D')
		g.str(v.Site.Title)
		g.str(v.Site.BaseURL)
		g.str(v.Page.Path)
		g.str(v.Page.Route)
		g.row(v.Row)
		g.any(v.Rows)
		g.value(v.Group)
		g.pager(v.Pager, true, true)
		g.period(v.Period)
		// .Data: the site queries are in the salt; route queries are not.
		g.int(int64(len(v.Data)))
		for _, k := range slices.Sorted(maps.Keys(v.Data)) {
			g.str(k)
			g.any(v.Data[k])
		}
	default:
		g.value(v)
	}
}
