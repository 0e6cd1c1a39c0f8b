package proxy

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/capture"
)

// maxRowDeps bounds the rows a saved page gets deps on by one path: a
// placeholder column that many rows share names them all, and past this
// the page depends on the table instead.
const maxRowDeps = 64

// rowDeps gives a saved page its deps on the rows of [Options.Rows] it
// shows: table:TABLE for a page at a path without placeholders (a list),
// row:TABLE/KEY for one at a path with placeholders, KEY being the
// primary key of the rows whose columns have the path's values, as change
// capture writes it (composite keys joined with ","). Without a database,
// or when no row or too many have those values, the dep is table:TABLE.
type rowDeps struct {
	tables  map[string][]pathTemplate
	db      *sql.DB // nil: no database
	dialect string

	mu   sync.Mutex
	keys map[string][]string // primary key columns by table
}

// deps returns the deps of the page at upath on rows, sorted; a lookup
// that fails is logged and leaves the table dep.
func (d *rowDeps) deps(ctx context.Context, log *slog.Logger, upath string) []bake.Dep {
	if d == nil {
		return nil
	}
	var out []bake.Dep
	for _, table := range slices.Sorted(maps.Keys(d.tables)) {
		for _, t := range d.tables[table] {
			m := t.re.FindStringSubmatch(upath)
			if m == nil {
				continue
			}
			cols := t.columns()
			if len(cols) == 0 || d.db == nil {
				out = append(out, bake.TableDep(table))
				continue
			}
			keys, err := d.lookup(ctx, table, cols, m[1:])
			if err != nil {
				log.Warn("deps of saved page: rows not read; the page depends on the table", "path", upath, "table", table, "err", err)
			}
			if len(keys) == 0 || len(keys) > maxRowDeps {
				out = append(out, bake.TableDep(table))
				continue
			}
			for _, k := range keys {
				out = append(out, bake.RowDep(table, k))
			}
		}
	}
	return bake.SortDeps(out)
}

// lookup returns the keys of the rows of table whose cols have values
// (compared as text), up to one more than maxRowDeps.
func (d *rowDeps) lookup(ctx context.Context, table string, cols, values []string) ([]string, error) {
	keyCols, err := d.keyColumns(ctx, table)
	if err != nil {
		return nil, err
	}
	var sel, where []string
	args := make([]any, len(values))
	for _, c := range keyCols {
		sel = append(sel, quoteIdent(c))
	}
	for i, c := range cols {
		// SQLite compares a text value with a column by the column's
		// affinity ('42' = 42); PostgreSQL needs the column as text.
		if d.dialect == capture.Postgres {
			where = append(where, "CAST("+quoteIdent(c)+" AS TEXT) = $"+strconv.Itoa(i+1))
		} else {
			where = append(where, quoteIdent(c)+" = ?")
		}
		args[i] = values[i]
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteTable(table) + " WHERE " + strings.Join(where, " AND ") +
		" LIMIT " + strconv.Itoa(maxRowDeps+1)
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read rows of %s: %w", table, err)
	}
	defer rows.Close()
	var keys []string
	raw := make([]any, len(keyCols))
	ptrs := make([]any, len(keyCols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read rows of %s: %w", table, err)
		}
		parts := make([]string, len(raw))
		for i, v := range raw {
			if s := text(v); s != nil {
				parts[i] = *s
			} else {
				parts[i] = "NULL" // as capture writes a NULL key column
			}
		}
		keys = append(keys, strings.Join(parts, ","))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rows of %s: %w", table, err)
	}
	return keys, nil
}

// keyColumns returns the primary key columns of table, looked up once.
func (d *rowDeps) keyColumns(ctx context.Context, table string) ([]string, error) {
	d.mu.Lock()
	cols, ok := d.keys[table]
	d.mu.Unlock()
	if ok {
		return cols, nil
	}
	cols, err := capture.PrimaryKey(ctx, d.db, d.dialect, table)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("primary key of %s: none", table)
	}
	d.mu.Lock()
	d.keys[table] = cols
	d.mu.Unlock()
	return cols, nil
}
