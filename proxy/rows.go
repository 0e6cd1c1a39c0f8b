package proxy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/capture"
)

// RowPaths maps the rows of a table of the origin's database to the pages
// that show them: when a row changes, those pages are purged.
type RowPaths struct {
	// Table is the table, as change capture was installed on it.
	Table string
	// Paths are page paths in which {column} stands for the value of a
	// column of the changed row, as text: "/posts/{slug}/", "/tags/{tag}/",
	// or "/" for a page that lists rows.
	Paths []string
}

// RowPurgeOptions configures a [RowPurger].
type RowPurgeOptions struct {
	// DB is the origin's database, with change capture installed on the
	// tables of Tables (capture.Install). Required.
	DB *sql.DB
	// Dialect is capture.SQLite or capture.Postgres. Required.
	Dialect string
	// Tables map tables to the paths their rows appear at. Required.
	Tables []RowPaths
	// Rewarm fetches the purged pages that can be named (not those purged
	// by prefix) again at once, so that the next visitor finds them saved.
	// If false, the next request for one goes to the origin.
	Rewarm bool
	// Poll is how often Run looks for changes on SQLite (PostgreSQL is
	// woken by NOTIFY). If zero, one second.
	Poll time.Duration
}

// RowPurgeReport is what one pass of [RowPurger.Once] did.
type RowPurgeReport struct {
	// Changes is the number of row changes handled.
	Changes int `json:"changes"`
	// Purged are the saved pages removed, sorted.
	Purged []string `json:"purged"`
	// Prefixes are the prefixes purged whole: for a row whose old values
	// are unknown (deleted, or with a placeholder column changed).
	Prefixes []string `json:"prefixes,omitempty"`
	// Warmed are the pages fetched again and saved (Rewarm).
	Warmed []string `json:"warmed,omitempty"`
}

// RowPurger purges the pages of changed rows: it reads the changes change
// capture recorded in the origin's database, fills each mapped path with
// the columns of the changed row, read by its primary key, and purges
// those pages (and re-warms them, if asked). The changes it handled are
// consumed.
//
// Capture records only a row's key, so the old values of a row are
// unknown. For a deleted row, a path whose placeholders are all primary
// key columns ("/posts/{id}/") is filled from the key; any other path is
// purged by its prefix, up to the segment of its first placeholder
// ("/posts/{slug}/" purges every saved page under "/posts/"). The same
// holds for an update that changed a placeholder column (a new slug): the
// page at the new value is purged, and the prefix for the old one. A
// path without placeholders is purged on every change of the table.
type RowPurger struct {
	p       *Proxy
	opts    RowPurgeOptions
	tables  map[string][]pathTemplate
	keys    map[string][]string // primary key columns by table
	lastID  int64
	tracked []string
}

// pathTemplate is a parsed path of RowPaths.
type pathTemplate struct {
	raw    string
	parts  []string       // literal text and placeholders, alternating: even indexes are literal
	prefix string         // the page paths the template can stand for start with this
	re     *regexp.Regexp // matches the paths it stands for; a group a placeholder
}

var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)
var columnRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parsePathTemplate parses a path of RowPaths.
func parsePathTemplate(s string) (pathTemplate, error) {
	t := pathTemplate{raw: s}
	if !strings.HasPrefix(s, "/") {
		return t, fmt.Errorf("path %q: a page path starts with /", s)
	}
	at := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		if !columnRE.MatchString(name) {
			return t, fmt.Errorf("path %q: {%s} is not a column name", s, name)
		}
		t.parts = append(t.parts, s[at:m[0]], name)
		at = m[1]
	}
	t.parts = append(t.parts, s[at:])
	for i := 0; i < len(t.parts); i += 2 {
		if strings.ContainsAny(t.parts[i], "{}") {
			return t, fmt.Errorf("path %q: unbalanced { }", s)
		}
	}
	first := t.parts[0]
	t.prefix = first[:strings.LastIndexByte(first, '/')+1]
	var expr strings.Builder
	expr.WriteString("^")
	for i, part := range t.parts {
		if i%2 == 0 {
			expr.WriteString(regexp.QuoteMeta(part))
		} else {
			expr.WriteString("(.+?)")
		}
	}
	expr.WriteString("$")
	re, err := regexp.Compile(expr.String())
	if err != nil {
		return t, fmt.Errorf("path %q: %w", s, err)
	}
	t.re = re
	if len(t.parts) == 1 {
		if _, err := bake.FileName(s); err != nil {
			return t, fmt.Errorf("path %q: %w", s, err)
		}
	}
	return t, nil
}

// columns returns the placeholders of t.
func (t pathTemplate) columns() []string {
	var cols []string
	for i := 1; i < len(t.parts); i += 2 {
		cols = append(cols, t.parts[i])
	}
	return cols
}

// fill returns t with its placeholders replaced by values, and false when
// a column is missing or NULL.
func (t pathTemplate) fill(values map[string]*string) (string, bool) {
	var b strings.Builder
	for i, part := range t.parts {
		if i%2 == 0 {
			b.WriteString(part)
			continue
		}
		v, ok := values[part]
		if !ok || v == nil {
			return "", false
		}
		b.WriteString(*v)
	}
	return b.String(), true
}

// CheckRowPaths reports the first error in tables: an empty table name,
// no paths, or a path that is not a page path with {column} placeholders.
func CheckRowPaths(tables []RowPaths) error {
	_, err := parseRowPaths(tables)
	return err
}

func parseRowPaths(tables []RowPaths) (map[string][]pathTemplate, error) {
	out := map[string][]pathTemplate{}
	for _, rp := range tables {
		if rp.Table == "" {
			return nil, errors.New("row paths: a table name is required")
		}
		if len(rp.Paths) == 0 {
			return nil, fmt.Errorf("row paths of %s: no paths", rp.Table)
		}
		for _, s := range rp.Paths {
			t, err := parsePathTemplate(s)
			if err != nil {
				return nil, fmt.Errorf("row paths of %s: %w", rp.Table, err)
			}
			out[rp.Table] = append(out[rp.Table], t)
		}
	}
	return out, nil
}

// NewRowPurger returns a RowPurger of the pages p saved. It checks that
// change capture is installed on every table of opts.Tables.
func NewRowPurger(ctx context.Context, p *Proxy, opts RowPurgeOptions) (*RowPurger, error) {
	if opts.DB == nil {
		return nil, errors.New("new row purger: no database")
	}
	if opts.Dialect != capture.SQLite && opts.Dialect != capture.Postgres {
		return nil, fmt.Errorf("new row purger: dialect %q: want %q or %q", opts.Dialect, capture.SQLite, capture.Postgres)
	}
	tables, err := parseRowPaths(opts.Tables)
	if err != nil {
		return nil, fmt.Errorf("new row purger: %w", err)
	}
	installed, err := capture.Installed(ctx, opts.DB, opts.Dialect)
	if err != nil {
		return nil, fmt.Errorf("new row purger: %w", err)
	}
	rp := &RowPurger{p: p, opts: opts, tables: tables, keys: map[string][]string{}}
	// Pages saved from now on get deps on the rows they show, read from
	// this database; by the proxy's own tables, when it has some.
	depTables := p.rows.Load().tables
	if len(depTables) == 0 {
		depTables = tables
	}
	p.rows.Store(&rowDeps{tables: depTables, db: opts.DB, dialect: opts.Dialect, keys: map[string][]string{}})
	for t := range tables {
		if !slices.Contains(installed, t) {
			return nil, fmt.Errorf("new row purger: no change capture on table %s (installed on: %s)", t, strings.Join(installed, ", "))
		}
		rp.tracked = append(rp.tracked, t)
	}
	slices.Sort(rp.tracked)
	return rp, nil
}

// Tables returns the tables whose changes rp follows, sorted.
func (rp *RowPurger) Tables() []string { return slices.Clone(rp.tracked) }

// Run handles changes as they come, until ctx is done; it returns nil
// then. A pass that fails is logged and tried again at the next change
// or poll; the changes it did not handle stay recorded.
func (rp *RowPurger) Run(ctx context.Context) error {
	poll := rp.opts.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for {
		rep, err := rp.Once(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			rp.p.log.Warn("purge changed rows", "err", err)
		case rep.Changes > 0:
			rp.p.log.Info("purged changed rows", "changes", rep.Changes, "pages", len(rep.Purged),
				"prefixes", strings.Join(rep.Prefixes, ","), "warmed", len(rep.Warmed))
		}
		if err := capture.Wait(ctx, rp.opts.DB, rp.opts.Dialect, rp.lastID, poll); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			rp.p.log.Warn("wait for changes", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
		}
	}
}

// Once handles the changes recorded so far: it purges the pages of each
// changed row of a mapped table, re-warms them when asked, and consumes
// the changes. Changes of other tables are left for whoever reads them.
func (rp *RowPurger) Once(ctx context.Context) (RowPurgeReport, error) {
	var rep RowPurgeReport
	changes, err := capture.Pending(ctx, rp.opts.DB, rp.opts.Dialect, 0)
	if err != nil {
		return rep, fmt.Errorf("purge changed rows: %w", err)
	}
	paths := map[string]bool{}
	prefixes := map[string]bool{}
	warm := map[string]bool{}
	var ids []int64
	for _, c := range changes {
		rp.lastID = max(rp.lastID, c.ID)
		tmpls, ok := rp.tables[c.Table]
		if !ok {
			continue
		}
		ids = append(ids, c.ID)
		row, err := rp.row(ctx, c)
		if err != nil {
			return rep, fmt.Errorf("purge changed rows: %w", err)
		}
		keyCols := rp.keys[c.Table]
		for _, t := range tmpls {
			cols := t.columns()
			if len(cols) == 0 {
				paths[t.raw] = true
				warm[t.raw] = true
				continue
			}
			if row != nil {
				if p, ok := t.fill(row); ok {
					paths[p] = true
					warm[p] = true
				} else {
					prefixes[t.prefix] = true
				}
				// The old value of a changed placeholder column is unknown.
				if c.Op == "update" && slices.ContainsFunc(cols, func(col string) bool { return slices.Contains(c.Columns, col) }) {
					prefixes[t.prefix] = true
				}
				continue
			}
			// The row is gone: only its key is known.
			if p, ok := t.fill(keyValues(keyCols, c.Key)); ok {
				paths[p] = true
			} else {
				prefixes[t.prefix] = true
			}
		}
	}
	rep.Changes = len(ids)
	if len(ids) == 0 {
		return rep, nil
	}
	var purged []string
	if len(paths) > 0 {
		var ps []string
		for p := range paths {
			if _, err := bake.FileName(p); err == nil { // a value that makes no page path names no saved page
				ps = append(ps, p)
			}
		}
		got, err := rp.p.purge(ctx, ps, "")
		if err != nil {
			return rep, fmt.Errorf("purge changed rows: %w", err)
		}
		purged = append(purged, got...)
	}
	for prefix := range prefixes {
		got, err := rp.p.purge(ctx, nil, prefix)
		if err != nil {
			return rep, fmt.Errorf("purge changed rows: %w", err)
		}
		purged = append(purged, got...)
		rep.Prefixes = append(rep.Prefixes, prefix)
	}
	slices.Sort(rep.Prefixes)
	slices.Sort(purged)
	rep.Purged = slices.Compact(purged)
	if rp.opts.Rewarm {
		var ws []string
		for p := range warm {
			ws = append(ws, p)
		}
		slices.Sort(ws)
		res, err := rp.p.Warm(ctx, ws)
		if err != nil {
			return rep, fmt.Errorf("purge changed rows: %w", err)
		}
		for _, w := range res {
			if w.Saved {
				rep.Warmed = append(rep.Warmed, w.Path)
			}
		}
	}
	if err := capture.Consume(ctx, rp.opts.DB, rp.opts.Dialect, ids); err != nil {
		return rep, fmt.Errorf("purge changed rows: %w", err)
	}
	return rep, nil
}

// keyValues maps key columns to the values of a recorded key: one column
// takes the whole key; several split it at commas, when that gives as
// many values (a value with a comma makes the key ambiguous: none then).
func keyValues(cols []string, key string) map[string]*string {
	vals := []string{key}
	if len(cols) > 1 {
		vals = strings.Split(key, ",")
	}
	out := map[string]*string{}
	if len(vals) != len(cols) {
		return out
	}
	for i, c := range cols {
		if vals[i] != "NULL" {
			out[c] = &vals[i]
		}
	}
	return out
}

// row reads the changed row by its primary key: column → value as text
// (nil for NULL); nil when the row is gone.
func (rp *RowPurger) row(ctx context.Context, c capture.Change) (map[string]*string, error) {
	cols, ok := rp.keys[c.Table]
	if !ok {
		var err error
		if cols, err = capture.PrimaryKey(ctx, rp.opts.DB, rp.opts.Dialect, c.Table); err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, fmt.Errorf("primary key of %s: none", c.Table)
		}
		rp.keys[c.Table] = cols
	}
	if c.Op == "delete" {
		return nil, nil
	}
	vals := keyValues(cols, c.Key)
	if len(vals) != len(cols) {
		return nil, nil // a NULL or ambiguous key: read as gone
	}
	var where []string
	var args []any
	for i, col := range cols {
		ph := "?"
		if rp.opts.Dialect == capture.Postgres {
			ph = "$" + strconv.Itoa(i+1)
		}
		where = append(where, quoteIdent(col)+" = "+ph)
		args = append(args, *vals[col])
	}
	q := "SELECT * FROM " + quoteTable(c.Table) + " WHERE " + strings.Join(where, " AND ")
	rows, err := rp.opts.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read row %s/%s: %w", c.Table, c.Key, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("read row %s/%s: %w", c.Table, c.Key, err)
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	raw := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("read row %s/%s: %w", c.Table, c.Key, err)
	}
	out := make(map[string]*string, len(names))
	for i, n := range names {
		out[n] = text(raw[i])
	}
	return out, rows.Err()
}

// text is a column value as a path takes it: numbers in decimal, times in
// RFC 3339, bytes as they are; nil for NULL.
func text(v any) *string {
	var s string
	switch v := v.(type) {
	case nil:
		return nil
	case []byte:
		s = string(v)
	case string:
		s = v
	case time.Time:
		s = v.Format(time.RFC3339)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		s = fmt.Sprint(v)
	}
	return &s
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteTable quotes a table name, schema.table as two names.
func quoteTable(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = quoteIdent(p)
	}
	return strings.Join(parts, ".")
}
