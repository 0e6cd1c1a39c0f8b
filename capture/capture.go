// Package capture records the row changes of a site's tables in the database
// itself, for incremental builds.
//
// Install adds triggers (AFTER INSERT, UPDATE and DELETE, per row) to the tables
// the site's routes read. Each trigger writes one row to the bake_changes table
// per changed row: the table, the row's primary key as text, the operation and,
// for an update, the columns whose value changed. On PostgreSQL the trigger also
// announces the change with NOTIFY on Channel, so Wait wakes at once; on SQLite
// Wait polls. A build reads the changes with Pending, re-renders what they
// touch and deletes the rows it handled with Consume. Uninstall removes
// everything Install added; nothing else in the database is touched.
//
// Every object Install creates is named with the prefix bake_changes: the
// table bake_changes, on SQLite the triggers bake_changes_<table>_ins, _upd,
// _key and _del, on PostgreSQL one trigger bake_changes_trg per table calling
// the function bake_changes_record().
//
// Tables are named as the site's queries name them. On PostgreSQL a name is
// looked up through search_path, as is (for a quoted "MixedCase" table) and
// then in lower case (for one created unquoted); "schema.table" names a table
// in another schema. bake_changes and its function are created in the current
// schema (the first existing one of search_path). A change is recorded under
// the table name Install was given.
//
// What the triggers cannot see:
//   - SQLite's triggers name every column, so they cover the columns of
//     the time of Install: run it again after ALTER TABLE ADD or RENAME
//     COLUMN (until then a new column's changes go unrecorded and a renamed
//     one is reported under its old name), and SQLite refuses to DROP COLUMN
//     a trigger names (Uninstall, drop, Install). PostgreSQL's one generic
//     function has none of these limits.
//   - On SQLite, rows that INSERT OR REPLACE deletes to make room are
//     recorded only if the writing connection sets PRAGMA
//     recursive_triggers = ON (the replacing insert always is).
//   - PostgreSQL's TRUNCATE fires no row trigger.
//   - A renamed table goes on being recorded under its old name until
//     Install runs with the new one.
//   - On PostgreSQL the trigger runs as the writing role, which needs INSERT
//     on bake_changes when it is not the role that ran Install.
package capture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialects (same strings as sqlsite.SQLite / sqlsite.Postgres).
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Table is the name of the table that holds pending changes.
const Table = "bake_changes"

// Channel is the PostgreSQL NOTIFY channel a change is announced on. The
// payload is the name of the changed table.
const Channel = "bake_changes"

// Row change operations, as recorded in Change.Op.
const (
	opInsert = "insert"
	opUpdate = "update"
	opDelete = "delete"
)

// consumeBatch is how many IDs one DELETE statement of Consume names.
const consumeBatch = 500

// defaultPoll is how often Wait polls on SQLite when poll is zero.
const defaultPoll = 200 * time.Millisecond

// Change is one recorded row change.
type Change struct {
	// ID orders the changes; it only grows, also across Consume.
	ID int64
	// Table is the table name as given to Install.
	Table string
	// Key is the primary key value as text; composite keys are joined with
	// "," in key column order. A NULL key column (SQLite allows them) is "NULL".
	Key string
	// Op is "insert", "update" or "delete".
	Op string
	// Columns are, for updates, the columns whose value changed, sorted; nil
	// for inserts and deletes.
	Columns []string
	// At is when the change was recorded (on PostgreSQL: the start of its
	// transaction).
	At time.Time
}

// Install creates bake_changes (if missing) and, for each table, triggers
// (AFTER INSERT, UPDATE, DELETE, per row) that record changes into it.
// Idempotent: running it again replaces the triggers (so columns added since
// are covered). Triggers on tables not in tables are left as they are. A table
// without a primary key is an error naming the table and saying how to fix it.
// A missing table is an error naming it. Nothing is installed unless every
// table can be.
func Install(ctx context.Context, db *sql.DB, dialect string, tables []string) error {
	if err := checkDialect(dialect); err != nil {
		return fmt.Errorf("install change capture: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("install change capture: %w", err)
	}
	defer tx.Rollback()
	if dialect == Postgres {
		err = installPostgres(ctx, tx, tables)
	} else {
		err = installSQLite(ctx, tx, tables)
	}
	if err != nil {
		return err // wrapped with the table's name by the dialect
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("install change capture: %w", err)
	}
	return nil
}

// Uninstall drops the triggers (and on PostgreSQL the trigger function)
// Install made, and bake_changes itself. Idempotent: nothing installed is not
// an error.
func Uninstall(ctx context.Context, db *sql.DB, dialect string) error {
	if err := checkDialect(dialect); err != nil {
		return fmt.Errorf("uninstall change capture: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("uninstall change capture: %w", err)
	}
	defer tx.Rollback()
	if dialect == Postgres {
		err = uninstallPostgres(ctx, tx)
	} else {
		err = uninstallSQLite(ctx, tx)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("uninstall change capture: %w", err)
	}
	return nil
}

// Installed returns the tables that currently have bake's triggers, sorted,
// named as they were given to Install; empty when none (including when
// bake_changes does not exist).
func Installed(ctx context.Context, db *sql.DB, dialect string) ([]string, error) {
	if err := checkDialect(dialect); err != nil {
		return nil, fmt.Errorf("list change capture triggers: %w", err)
	}
	var tables []string
	var err error
	if dialect == Postgres {
		tables, err = installedPostgres(ctx, db)
	} else {
		tables, err = installedSQLite(ctx, db)
	}
	if err != nil {
		return nil, fmt.Errorf("list change capture triggers: %w", err)
	}
	slices.Sort(tables)
	return slices.Compact(tables), nil
}

// Pending returns up to limit pending changes (limit <= 0: all), in ID order.
func Pending(ctx context.Context, db *sql.DB, dialect string, limit int) ([]Change, error) {
	if err := checkDialect(dialect); err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	changes, err := pending(ctx, db, dialect, limit)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	return changes, nil
}

func pending(ctx context.Context, db *sql.DB, dialect string, limit int) ([]Change, error) {
	q := "SELECT id, tbl, key, op, cols, at FROM " + Table + " ORDER BY id"
	var args []any
	if limit > 0 {
		q += " LIMIT " + placeholder(dialect, 1)
		args = append(args, limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, notInstalled(ctx, db, dialect, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var cols sql.NullString
		var at any
		if err := rows.Scan(&c.ID, &c.Table, &c.Key, &c.Op, &cols, &at); err != nil {
			return nil, err
		}
		if cols.Valid && cols.String != "" {
			c.Columns = strings.Split(cols.String, ",")
			slices.Sort(c.Columns)
		}
		if c.At, err = asTime(at); err != nil {
			return nil, fmt.Errorf("change %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Consume deletes the changes with these IDs (processed by a build). IDs that
// are already gone are ignored. Large ID lists are deleted in batches, all in
// one transaction.
func Consume(ctx context.Context, db *sql.DB, dialect string, ids []int64) error {
	if err := checkDialect(dialect); err != nil {
		return fmt.Errorf("consume changes: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := consume(ctx, db, dialect, ids); err != nil {
		return fmt.Errorf("consume changes: %w", err)
	}
	return nil
}

func consume(ctx context.Context, db *sql.DB, dialect string, ids []int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var b strings.Builder
	args := make([]any, 0, min(len(ids), consumeBatch))
	for batch := range slices.Chunk(ids, consumeBatch) {
		b.Reset()
		args = args[:0]
		b.WriteString("DELETE FROM " + Table + " WHERE id IN (")
		for i, id := range batch {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(placeholder(dialect, i+1))
			args = append(args, id)
		}
		b.WriteByte(')')
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			tx.Rollback() // free the connection for notInstalled
			return notInstalled(ctx, db, dialect, err)
		}
	}
	return tx.Commit()
}

// Wait blocks until a change may be pending or ctx is done (returns
// ctx.Err()). after is the last change ID the caller has seen (0: any pending
// change counts); Wait returns at once when a change with a greater ID is
// already pending.
//
// On PostgreSQL it LISTENs on Channel on a dedicated connection (the database
// must be opened with pgx's database/sql driver, github.com/jackc/pgx/v5/stdlib)
// and returns on the first notification, which may be for a change the caller
// has seen. On SQLite it polls SELECT max(id) FROM bake_changes every poll
// interval (if zero, 200ms) and returns when it is greater than after.
func Wait(ctx context.Context, db *sql.DB, dialect string, after int64, poll time.Duration) error {
	if err := checkDialect(dialect); err != nil {
		return fmt.Errorf("wait for changes: %w", err)
	}
	var err error
	if dialect == Postgres {
		err = waitPostgres(ctx, db, after)
	} else {
		err = waitSQLite(ctx, db, after, poll)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("wait for changes: %w", err)
	}
	return nil
}

func checkDialect(dialect string) error {
	if dialect != SQLite && dialect != Postgres {
		return fmt.Errorf("unknown dialect %q: want %q or %q", dialect, SQLite, Postgres)
	}
	return nil
}

// notInstalled returns an error saying so when err came from a missing
// bake_changes table, else err.
func notInstalled(ctx context.Context, db *sql.DB, dialect string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + Table + "'"
	if dialect == Postgres {
		q = "SELECT count(*) FROM pg_class WHERE oid = to_regclass('" + Table + "')"
	}
	var n int
	if db.QueryRowContext(ctx, q).Scan(&n) == nil && n == 0 {
		return errNotInstalled()
	}
	return err
}

// errNotInstalled says that bake_changes does not exist.
func errNotInstalled() error {
	return errors.New(Table + " does not exist: change capture is not installed (bake watch --install)")
}

// placeholder returns the n-th (1-based) positional parameter of dialect.
func placeholder(dialect string, n int) string {
	if dialect == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// quoteIdent quotes an SQL identifier (both dialects).
// PrimaryKey returns the primary key columns of table, in key order: the
// columns whose values name a row in the changes capture records
// (Change.Key). None (an empty list) when the table has no primary key.
func PrimaryKey(ctx context.Context, db *sql.DB, dialect, table string) ([]string, error) {
	if err := checkDialect(dialect); err != nil {
		return nil, fmt.Errorf("primary key of %s: %w", table, err)
	}
	var cols []string
	var err error
	if dialect == Postgres {
		cols, err = pgPrimaryKey(ctx, db, table)
	} else {
		cols, err = columnList(db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", table))
	}
	if err != nil {
		return nil, fmt.Errorf("primary key of %s: %w", table, err)
	}
	return cols, nil
}

// columnList reads the one text column of rows.
func columnList(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes an SQL string literal (both dialects; PostgreSQL with
// standard_conforming_strings, the default).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// balanced joins exprs with op as a balanced tree of parentheses, so a table
// with many columns does not hit SQLite's expression depth limit (1000).
func balanced(exprs []string, op string) string {
	switch len(exprs) {
	case 0:
		return ""
	case 1:
		return exprs[0]
	}
	m := len(exprs) / 2
	return "(" + balanced(exprs[:m], op) + " " + op + " " + balanced(exprs[m:], op) + ")"
}

// asTime converts the at column's value, as the driver returned it, to a time.
func asTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v, nil
	case []byte:
		return asTime(string(v))
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %v (%T)", v, v)
}
