package bake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Dep names one thing a page read, as "kind:name" or "kind:name/key":
//
//	row:items/42        one row of a table, by primary key
//	table:items         the membership or order of a table's rows
//	tmpl:item.html      a template file
//	asset:css/app.css   a static file
//	query:categories    the result of a named site-wide query
//	config:bake.toml    the site definition
//
// Kinds are lowercase ASCII letters; the name is any non-empty UTF-8 text
// without control characters; a row key follows the first "/" after the
// kind's name for the row kind only.
type Dep string

// Dep kinds used by bake itself.
const (
	KindRow    = "row"
	KindTable  = "table"
	KindTmpl   = "tmpl"
	KindAsset  = "asset"
	KindQuery  = "query"
	KindConfig = "config"
)

// RowDep returns the dep on one row of table, identified by its key.
func RowDep(table, key string) Dep { return Dep(KindRow + ":" + table + "/" + key) }

// TableDep returns the dep on the membership and order of table's rows.
func TableDep(table string) Dep { return Dep(KindTable + ":" + table) }

// TmplDep returns the dep on a template file, named relative to the templates folder.
func TmplDep(name string) Dep { return Dep(KindTmpl + ":" + name) }

// AssetDep returns the dep on a static file, named relative to the static folder.
func AssetDep(name string) Dep { return Dep(KindAsset + ":" + name) }

// QueryDep returns the dep on the result of a named site-wide query.
func QueryDep(name string) Dep { return Dep(KindQuery + ":" + name) }

// ConfigDep returns the dep on a configuration file.
func ConfigDep(name string) Dep { return Dep(KindConfig + ":" + name) }

// Kind returns the kind of d, the text before the first colon.
func (d Dep) Kind() string {
	k, _, _ := strings.Cut(string(d), ":")
	return k
}

// Name returns the name of d: for a row dep the table, otherwise everything after the colon.
func (d Dep) Name() string {
	k, rest, _ := strings.Cut(string(d), ":")
	if k == KindRow {
		name, _, _ := strings.Cut(rest, "/")
		return name
	}
	return rest
}

// Key returns the row key of a row dep, and "" for every other kind.
func (d Dep) Key() string {
	k, rest, _ := strings.Cut(string(d), ":")
	if k != KindRow {
		return ""
	}
	_, key, _ := strings.Cut(rest, "/")
	return key
}

// ParseDep checks that s is a well-formed dep and returns it.
func ParseDep(s string) (Dep, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("parse dep %q: missing ':' between kind and name", s)
	}
	if kind == "" {
		return "", fmt.Errorf("parse dep %q: empty kind", s)
	}
	for _, r := range kind {
		if r < 'a' || r > 'z' {
			return "", fmt.Errorf("parse dep %q: kind must be lowercase letters a-z", s)
		}
	}
	if rest == "" {
		return "", fmt.Errorf("parse dep %q: empty name", s)
	}
	if !validText(rest) {
		return "", fmt.Errorf("parse dep %q: name is not valid UTF-8 or has control characters", s)
	}
	if kind == KindRow {
		name, key, ok := strings.Cut(rest, "/")
		if !ok || name == "" || key == "" {
			return "", fmt.Errorf("parse dep %q: a row dep is row:table/key", s)
		}
	}
	return Dep(s), nil
}

func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Tracker collects the deps recorded while a page is loaded and rendered.
// It is safe for concurrent use.
type Tracker struct {
	mu   sync.Mutex
	deps map[Dep]struct{}
}

// Add records deps.
func (t *Tracker) Add(deps ...Dep) {
	t.mu.Lock()
	if t.deps == nil {
		t.deps = make(map[Dep]struct{}, len(deps))
	}
	for _, d := range deps {
		t.deps[d] = struct{}{}
	}
	t.mu.Unlock()
}

// Deps returns the recorded deps, sorted and without duplicates.
func (t *Tracker) Deps() []Dep {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Dep, 0, len(t.deps))
	for d := range t.deps {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

type trackerKey struct{}

// WithTracker returns a context that carries t, so that [Track] calls made
// with it record into t.
func WithTracker(ctx context.Context, t *Tracker) context.Context {
	return context.WithValue(ctx, trackerKey{}, t)
}

// Track records that the work running under ctx read deps. It does nothing
// when ctx carries no [Tracker]. Code that reads data for a page (a handler,
// a template function, a query helper) calls Track so that incremental builds
// know what to re-render when that data changes.
func Track(ctx context.Context, deps ...Dep) {
	if t, ok := ctx.Value(trackerKey{}).(*Tracker); ok {
		t.Add(deps...)
	}
}

// SortDeps sorts deps and removes duplicates, in place, and returns the result.
func SortDeps(deps []Dep) []Dep {
	slices.Sort(deps)
	return slices.Compact(deps)
}
