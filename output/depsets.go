package output

// Dep sets: the deps most pages share, stored once.

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/bakehq/bake"
)

// A page's deps are of two sorts. Its row deps (row:items/42) are its own:
// they go in the deps table, a row each. The others (templates, assets,
// site queries, tables) are nearly always those of every page of its
// route: they are stored once, as a dep set (table depsets, searchable
// through depset_deps), and the page names its set (pages.depset). At
// 100,000 pages of the bench site that is 270,000 dep rows instead of
// 840,000.
//
// A page's deps are its rows in deps and the deps of its set. Depset 0 is
// no set: the page's rows in deps are all its deps. An index has at most
// maxDepsets sets; a page whose other deps would make one more stores all
// its deps as its own (a site whose pages read an asset each, say). Tests
// lower the limit of one Index or IndexWriter (their maxDepsets field).
const maxDepsets = 4096

// splitDeps returns the deps of a page that go in the deps table if the
// page has a dep set, and the key of that set: the other deps, one per
// line ("" when there are none).
func splitDeps(deps []bake.Dep) (own []bake.Dep, set string) {
	var b strings.Builder
	for _, d := range deps {
		if d.Kind() == bake.KindRow {
			own = append(own, d)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(string(d))
	}
	return own, b.String()
}

// placeDeps returns the deps of a page to store in the deps table, and the
// dep set that holds the others (0 for none): set finds or makes a set for
// a key, returning 0 when it may not.
func placeDeps(deps []bake.Dep, set func(key string) (int64, error)) ([]bake.Dep, int64, error) {
	own, key := splitDeps(deps)
	id, err := set(key)
	if err != nil || id == 0 {
		return deps, 0, err
	}
	return own, id, nil
}

// ownDeps returns the deps of a page that are in the deps table, given
// all its deps and its dep set.
func ownDeps(deps []bake.Dep, depset int64) []bake.Dep {
	if depset == 0 {
		return deps
	}
	own, _ := splitDeps(deps)
	return own
}

// findDepset returns the id of the dep set with this key, making it if
// there is room for another of at most limit sets (0 if not, or when key
// is empty).
func findDepset(ctx context.Context, st *stmts, key string, limit int) (int64, error) {
	if key == "" {
		return 0, nil
	}
	var id int64
	err := st.queryRow(ctx, "SELECT id FROM depsets WHERE deps = ?", key).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	var n, top int64
	if err := st.queryRow(ctx, "SELECT count(*), ifnull(max(id), 0) FROM depsets").Scan(&n, &top); err != nil {
		return 0, err
	}
	if n >= int64(limit) {
		return 0, nil
	}
	return makeDepset(ctx, st, top+1, key)
}

// makeDepset stores the dep set key as id.
func makeDepset(ctx context.Context, st *stmts, id int64, key string) (int64, error) {
	if _, err := st.exec(ctx, "INSERT INTO depsets (id, deps) VALUES (?, ?)", id, key); err != nil {
		return 0, err
	}
	for d := range strings.SplitSeq(key, "\n") {
		if _, err := st.exec(ctx, "INSERT INTO depset_deps (dep, depset) VALUES (?, ?)", d, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// dropDepset removes dep set id if no page names it any more.
func dropDepset(ctx context.Context, st *stmts, id int64) error {
	if id == 0 {
		return nil
	}
	var used int
	if err := st.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pages WHERE depset = ?)", id).Scan(&used); err != nil || used == 1 {
		return err
	}
	if _, err := st.exec(ctx, "DELETE FROM depset_deps WHERE depset = ?", id); err != nil {
		return err
	}
	_, err := st.exec(ctx, "DELETE FROM depsets WHERE id = ?", id)
	return err
}
