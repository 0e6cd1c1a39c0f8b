package bake

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Change is one thing that changed since the last build: a row, a whole
// table, a template, a static file or the configuration.
type Change struct {
	// Dep is what changed: row:items/42, table:items (rows unknown),
	// tmpl:item.html, asset:css/app.css, config:bake.toml.
	Dep Dep
	// Op is, for a row, "insert", "update" or "delete"; "" when unknown
	// (the row may have been inserted, updated or deleted).
	Op string
	// Columns are, for a row update, the columns whose value changed,
	// sorted. Nil means unknown: every column may have changed.
	Columns []string
}

// Row change operations.
const (
	OpInsert = "insert"
	OpUpdate = "update"
	OpDelete = "delete"
)

// String formats c for logs and explanations: "row:items/42 update (title)".
func (c Change) String() string {
	s := string(c.Dep)
	if c.Op != "" {
		s += " " + c.Op
	}
	if len(c.Columns) > 0 {
		s += " (" + strings.Join(c.Columns, ", ") + ")"
	}
	return s
}

// ParseChange reads a change named on a command line: "items:42" (a row of
// table items with key 42, operation unknown), "table:items", or any dep
// ("tmpl:item.html", "row:items/42").
func ParseChange(s string) (Change, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Change{}, fmt.Errorf("parse change %q: want TABLE:KEY (items:42) or a dep (tmpl:item.html)", s)
	}
	switch kind {
	case KindRow, KindTable, KindTmpl, KindAsset, KindQuery, KindConfig:
		d, err := ParseDep(s)
		if err != nil {
			return Change{}, fmt.Errorf("parse change: %w", err)
		}
		return Change{Dep: d}, nil
	}
	d, err := ParseDep(string(RowDep(kind, rest)))
	if err != nil {
		return Change{}, fmt.Errorf("parse change %q: %w", s, err)
	}
	return Change{Dep: d}, nil
}

// Index is the record of the last build that an incremental update reads:
// its entries, searchable by dep and by route, and the values the site
// stored with it.
type Index interface {
	// Lookup returns the entry at path.
	Lookup(ctx context.Context, path string) (Entry, bool, error)
	// ByDep returns the entries whose deps include dep, sorted by path.
	ByDep(ctx context.Context, dep Dep) ([]Entry, error)
	// Paths returns the paths made by route, sorted; only those of the row
	// key when key is not empty.
	Paths(ctx context.Context, route, key string) ([]string, error)
	// Entries streams every entry, sorted by path.
	Entries(ctx context.Context) iter.Seq2[Entry, error]
	// Outline streams every entry, sorted by path, with only Path, Route,
	// Key, Type, LastMod and Redirect set; faster than Entries.
	Outline(ctx context.Context) iter.Seq2[Entry, error]
	// Value returns a value stored with the build (see [Updater.State]), or "".
	Value(ctx context.Context, name string) (string, error)
	// ReadFile returns the bytes of the build's file at path (a URL path).
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// Updater is a [Site] that can bring an earlier build up to date by
// re-rendering only the pages that changes touch.
type Updater interface {
	Site
	// Update streams the pages that changes may have altered, to be
	// re-rendered and written when their bytes differ, and, with Remove
	// set, the pages that no longer exist. It may add changes it finds
	// itself (templates and static files edited since prev was built). An
	// error wrapping [ErrFullBuild] means the changes cannot be applied
	// incrementally (the configuration changed): build everything.
	Update(ctx context.Context, prev Index, changes []Change) iter.Seq2[*Page, error]
	// State returns the values to store with the build made by the last
	// Pages or Update pass, for the next Update to compare against.
	State() map[string]string
}

// ErrFullBuild is wrapped by an [Updater] that needs a full build.
var ErrFullBuild = errors.New("a full build is needed")

// SortChanges orders changes by dep and merges changes to the same dep:
// the operations and columns of one row are combined ("" and nil when they
// disagree in a way that cannot be summed up).
func SortChanges(cs []Change) []Change {
	slices.SortStableFunc(cs, func(a, b Change) int { return strings.Compare(string(a.Dep), string(b.Dep)) })
	out := cs[:0]
	for _, c := range cs {
		if n := len(out); n > 0 && out[n-1].Dep == c.Dep {
			out[n-1] = mergeChange(out[n-1], c)
			continue
		}
		out = append(out, c)
	}
	return out
}

// mergeChange combines two changes of one dep, the earlier first.
func mergeChange(a, b Change) Change {
	m := Change{Dep: a.Dep}
	switch {
	case a.Op == OpUpdate && b.Op == OpUpdate:
		m.Op = OpUpdate
		if a.Columns != nil && b.Columns != nil {
			m.Columns = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(a.Columns), b.Columns...))))
		}
	case a.Op == OpInsert && b.Op == OpUpdate, a.Op == OpInsert && b.Op == OpInsert:
		m.Op = OpInsert
	case b.Op == OpDelete && a.Op != "":
		m.Op = OpDelete
	}
	// Anything else (delete then insert, unknown ops) stays unknown: the
	// row may be there or not, with any values.
	return m
}
