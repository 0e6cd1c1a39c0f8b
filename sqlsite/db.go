package sqlsite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialects of SQL that bake writes queries for.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Row is one row of a query result: column name → value, as the driver
// returned it ([]byte is turned into string).
type Row map[string]any

// db wraps the database with the dialect and a query counter.
type db struct {
	*sql.DB
	dialect string
}

// bind rewrites :name parameters into the dialect's placeholders and returns
// the argument list taken from get. Text inside quotes, "::" casts and
// comments are left alone.
func (d *db) bind(query string, get func(string) (any, bool)) (string, []any, error) {
	var args []any
	seen := map[string]int{}
	q, err := rewriteParams(query, func(name string) (string, error) {
		n, ok := seen[name]
		if !ok {
			v, found := get(name)
			if !found {
				return "", fmt.Errorf("parameter :%s: no such column", name)
			}
			args = append(args, v)
			n = len(args)
			seen[name] = n
		}
		if d.dialect == Postgres {
			return "$" + strconv.Itoa(n), nil
		}
		return "?" + strconv.Itoa(n), nil
	})
	return q, args, err
}

// NowParam is the query parameter that stands for the time of the build:
// :now, in any query of bake.toml.
const NowParam = "now"

// withNow returns query with each :now replaced by the SQL literal of t,
// in the form the dialect's CURRENT_TIMESTAMP has: UTC text to the second
// on SQLite ('2026-12-07 06:00:00', as SQLite's own functions write it),
// a timestamptz on PostgreSQL. Every query of one build sees the same
// instant, and a clock bake controls (see [Options.Now]).
func withNow(query, dialect string, t time.Time) string {
	lit := "'" + t.UTC().Format("2006-01-02 15:04:05") + "'"
	if dialect == Postgres {
		lit = "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
	}
	q, _ := rewriteParams(query, func(name string) (string, error) {
		if name == NowParam {
			return lit, nil
		}
		return ":" + name, nil
	})
	return q
}

// rewriteParams calls f for each :name parameter of query and puts what it
// returns in its place. Text inside quotes, "::" casts and comments are
// left alone.
func rewriteParams(query string, f func(name string) (string, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) && query[j] != c {
				j++
			}
			b.WriteString(query[i:min(j+1, len(query))])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case c == ':' && i+1 < len(query) && query[i+1] == ':':
			b.WriteString("::")
			i++
		case c == ':' && i+1 < len(query) && (query[i+1] == '_' || isLetter(query[i+1])):
			j := i + 1
			for j < len(query) && (query[j] == '_' || isLetter(query[j]) || query[j] >= '0' && query[j] <= '9') {
				j++
			}
			r, err := f(query[i+1 : j])
			if err != nil {
				return "", err
			}
			b.WriteString(r)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// params returns the :name parameters of a query.
func params(query string) []string {
	var names []string
	d := &db{dialect: SQLite}
	d.bind(query, func(n string) (any, bool) { names = append(names, n); return nil, true })
	return names
}

// in returns " IN (…)" with a placeholder for each of n values.
func (d *db) in(n int) string { return d.inAt(1, n) }

// inAt is in, its placeholders numbered from first.
func (d *db) inAt(first, n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = d.placeholder(first + i)
	}
	return " IN (" + strings.Join(marks, ", ") + ")"
}

// keyBatch is the most row keys one query names (WHERE key IN (…)).
const keyBatch = 500

// keyArgs returns keys as the arguments of a query.
func keyArgs(keys []string) []any {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return args
}

// offset returns the clause that skips the first n rows of a query
// without limiting the rest.
func (d *db) offset(n int) string {
	if d.dialect == Postgres {
		return " OFFSET " + strconv.Itoa(n)
	}
	return " LIMIT -1 OFFSET " + strconv.Itoa(n)
}

// placeholder returns the n-th (1-based) positional placeholder.
func (d *db) placeholder(n int) string {
	if d.dialect == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// clean strips whitespace and a trailing semicolon so a query can be
// wrapped, and ends it with a newline, which ends a -- comment on its last
// line (the wrapping ") AS q" would be inside it).
func clean(query string) string {
	return strings.TrimRight(strings.TrimSpace(query), "; \t\n") + "\n"
}

// rowScanner reads rows into Row maps.
type rowScanner struct {
	rows *sql.Rows
	cols []string
	vals []any
	ptrs []any
}

func newRowScanner(rows *sql.Rows) (*rowScanner, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	s := &rowScanner{rows: rows, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s, nil
}

// scan reads the current row into a new Row.
func (s *rowScanner) scan() (Row, error) {
	if err := s.rows.Scan(s.ptrs...); err != nil {
		return nil, err
	}
	r := make(Row, len(s.cols))
	for i, c := range s.cols {
		v := s.vals[i]
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		r[c] = v
	}
	return r, nil
}

// queryRows runs a query and returns all its rows (for small results:
// extra queries, feeds).
func (d *db) queryRows(ctx context.Context, query string, args ...any) ([]Row, error) {
	rows, err := d.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sc, err := newRowScanner(rows)
	if err != nil {
		return nil, err
	}
	var out []Row
	for rows.Next() {
		r, err := sc.scan()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// columns returns the columns a query returns, without reading any row.
func (d *db) columns(ctx context.Context, query string) ([]string, error) {
	rows, err := d.QueryContext(ctx, "SELECT * FROM ("+clean(query)+") AS q LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// keyString formats a key column's value for row deps and messages.
func keyString(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return v
	case []byte: // as a driver scans text into any
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(v)
	}
}

// asTime converts a column value to a time, accepting times, common text
// layouts and Unix seconds.
func asTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
	case int64:
		return time.Unix(v, 0).UTC(), true
	case float64:
		return time.Unix(int64(v), 0).UTC(), true
	}
	return time.Time{}, false
}
