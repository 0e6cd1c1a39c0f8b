package capture

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// sqliteTable creates bake_changes on SQLite. AUTOINCREMENT keeps IDs growing
// after the newest rows are consumed, which Wait's after relies on.
const sqliteTable = `CREATE TABLE IF NOT EXISTS ` + Table + ` (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tbl TEXT NOT NULL,
	key TEXT NOT NULL,
	op TEXT NOT NULL,
	cols TEXT,
	at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
)`

// sqliteTrigger returns the name of a trigger of table.
func sqliteTrigger(table, suffix string) string { return Table + "_" + table + suffix }

func installSQLite(ctx context.Context, tx *sql.Tx, tables []string) error {
	if _, err := tx.ExecContext(ctx, sqliteTable); err != nil {
		return fmt.Errorf("install change capture: create %s: %w", Table, err)
	}
	for _, t := range tables {
		if err := installSQLiteTable(ctx, tx, t); err != nil {
			return fmt.Errorf("install change capture on %s: %w", t, err)
		}
	}
	return nil
}

// sqliteColumn is a column of a table from PRAGMA table_info.
type sqliteColumn struct {
	name string
	pk   int // position in the primary key, from 1; 0 when not in it
}

func installSQLiteTable(ctx context.Context, tx *sql.Tx, table string) error {
	if strings.EqualFold(table, Table) {
		return errors.New("it is bake's own table of changes")
	}
	var typ string
	err := tx.QueryRowContext(ctx, "SELECT type FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE", table).Scan(&typ)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errors.New("no such table")
	case err != nil:
		return err
	case typ != "table":
		return fmt.Errorf("it is a %s: changes can be captured only on tables", typ)
	}
	cols, err := sqliteColumns(ctx, tx, table)
	if err != nil {
		return err
	}
	var pk []sqliteColumn
	for _, c := range cols {
		if c.pk > 0 {
			pk = append(pk, c)
		}
	}
	if len(pk) == 0 {
		return errors.New("no primary key, so a change cannot name its row: " +
			"give the table one (in SQLite, recreate it with a PRIMARY KEY column, such as id INTEGER PRIMARY KEY) " +
			"or leave it out of change capture")
	}
	slices.SortFunc(pk, func(a, b sqliteColumn) int { return cmp.Compare(a.pk, b.pk) })
	slices.SortFunc(cols, func(a, b sqliteColumn) int { return strings.Compare(a.name, b.name) })
	// Drop bake's triggers on the table, also those named after another
	// name of it (before ALTER TABLE RENAME), and any named as the new ones.
	old, err := sqliteTriggerNames(ctx, tx, table)
	if err != nil {
		return err
	}
	// The suffixes of the triggers on one table: insert, update that keeps
	// the key, update that changes the key, delete. All have the same length,
	// so no two tables' trigger names can collide.
	for _, s := range []string{"_ins", "_upd", "_key", "_del"} {
		old = append(old, sqliteTrigger(table, s))
	}
	for _, n := range old {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+quoteIdent(n)); err != nil {
			return err
		}
	}
	for _, q := range sqliteTriggers(table, pk, cols) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func sqliteColumns(ctx context.Context, tx *sql.Tx, table string) ([]sqliteColumn, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []sqliteColumn
	for rows.Next() {
		var c sqliteColumn
		if err := rows.Scan(&c.name, &c.pk); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// sqliteTriggers returns the CREATE TRIGGER statements for table, whose
// primary key columns are pk (in key order) and whose columns are cols
// (sorted by name).
func sqliteTriggers(table string, pk, cols []sqliteColumn) []string {
	qt := quoteIdent(table)
	name := quoteLiteral(table)
	key := func(row string) string {
		parts := make([]string, len(pk))
		for i, c := range pk {
			parts[i] = "ifnull(CAST(" + row + "." + quoteIdent(c.name) + " AS TEXT), 'NULL')"
		}
		return strings.Join(parts, " || ',' || ")
	}
	// differs compares with BINARY, so that 'a' to 'A' in a NOCASE column
	// counts as a change.
	differs := func(c sqliteColumn) string {
		return "OLD." + quoteIdent(c.name) + " IS NOT NEW." + quoteIdent(c.name) + " COLLATE BINARY"
	}
	var keyChanged, anyChanged, changed []string
	for _, c := range pk {
		keyChanged = append(keyChanged, differs(c))
	}
	for _, c := range cols {
		anyChanged = append(anyChanged, differs(c))
		changed = append(changed, "CASE WHEN "+differs(c)+" THEN "+quoteLiteral(","+c.name)+" ELSE '' END")
	}
	record := func(key, op, cols string) string {
		return "INSERT INTO " + Table + " (tbl, key, op, cols) VALUES (" + name + ", " + key + ", '" + op + "', " + cols + ");"
	}
	trigger := func(suffix, event, when, body string) string {
		q := "CREATE TRIGGER " + quoteIdent(sqliteTrigger(table, suffix)) + " AFTER " + event + " ON " + qt + " FOR EACH ROW"
		if when != "" {
			q += " WHEN " + when
		}
		return q + " BEGIN " + body + " END"
	}
	return []string{
		trigger("_ins", "INSERT", "", record(key("NEW"), opInsert, "NULL")),
		trigger("_upd", "UPDATE", "NOT "+balanced(keyChanged, "OR")+" AND "+balanced(anyChanged, "OR"),
			record(key("NEW"), opUpdate, "substr("+balanced(changed, "||")+", 2)")),
		trigger("_key", "UPDATE", balanced(keyChanged, "OR"),
			record(key("OLD"), opDelete, "NULL")+" "+record(key("NEW"), opInsert, "NULL")),
		trigger("_del", "DELETE", "", record(key("OLD"), opDelete, "NULL")),
	}
}

// sqliteTriggerLike matches the names of bake's triggers (\ escapes _).
const sqliteTriggerLike = `'bake\_changes\_%' ESCAPE '\'`

func installedSQLite(ctx context.Context, db *sql.DB) ([]string, error) {
	names, err := sqliteTriggerNames(ctx, db, "")
	if err != nil {
		return nil, err
	}
	var tables []string
	for _, n := range names {
		if t, ok := strings.CutSuffix(n[len(Table)+1:], "_ins"); ok {
			tables = append(tables, t)
		}
	}
	return tables, nil
}

// queryer is a database or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqliteTriggerNames returns the names of bake's triggers, on table when it
// is not "".
func sqliteTriggerNames(ctx context.Context, db queryer, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE "+sqliteTriggerLike+
		" AND (? = '' OR tbl_name = ? COLLATE NOCASE) ORDER BY name", table, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

func uninstallSQLite(ctx context.Context, tx *sql.Tx) error {
	names, err := sqliteTriggerNames(ctx, tx, "")
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+quoteIdent(n)); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+Table)
	return err
}

func waitSQLite(ctx context.Context, db *sql.DB, after int64, poll time.Duration) error {
	if poll <= 0 {
		poll = defaultPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		var last int64
		if err := db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM "+Table).Scan(&last); err != nil {
			return notInstalled(ctx, db, SQLite, err)
		}
		if last > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
