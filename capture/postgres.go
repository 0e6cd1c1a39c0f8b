package capture

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgTrigger is the name of bake's trigger on each table, pgFunction the
// function every such trigger calls.
const (
	pgTrigger  = Table + "_trg"
	pgFunction = Table + "_record"
)

// pgTable creates bake_changes in schema %[1]s.
const pgTable = `CREATE TABLE IF NOT EXISTS %[1]s.` + Table + ` (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tbl text NOT NULL,
	key text NOT NULL,
	op text NOT NULL,
	cols text,
	at timestamptz NOT NULL DEFAULT now()
)`

// pgFunctionSQL creates the trigger function in schema %[1]s. One function
// serves every table: the trigger's arguments are the table's name as given
// to Install and then its primary key columns, in key order. Values are
// compared and keys formatted through jsonb, so no column list is fixed at
// install time.
const pgFunctionSQL = `CREATE OR REPLACE FUNCTION %[1]s.` + pgFunction + `() RETURNS trigger
LANGUAGE plpgsql AS $bake$
DECLARE
	t text := TG_ARGV[0];
	o jsonb;
	n jsonb;
	okey text;
	nkey text;
	changed text;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		o := to_jsonb(OLD);
		SELECT string_agg(coalesce(o ->> a.col, 'NULL'), ',' ORDER BY a.ord) INTO okey
		FROM unnest(TG_ARGV[1:TG_NARGS - 1]) WITH ORDINALITY AS a(col, ord);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		n := to_jsonb(NEW);
		SELECT string_agg(coalesce(n ->> a.col, 'NULL'), ',' ORDER BY a.ord) INTO nkey
		FROM unnest(TG_ARGV[1:TG_NARGS - 1]) WITH ORDINALITY AS a(col, ord);
	END IF;
	IF TG_OP = 'INSERT' THEN
		INSERT INTO %[1]s.` + Table + ` (tbl, key, op) VALUES (t, nkey, 'insert');
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO %[1]s.` + Table + ` (tbl, key, op) VALUES (t, okey, 'delete');
	ELSIF okey IS DISTINCT FROM nkey THEN
		INSERT INTO %[1]s.` + Table + ` (tbl, key, op) VALUES (t, okey, 'delete'), (t, nkey, 'insert');
	ELSE
		-- Compare the jsonb text, so that 1.0 to 1.00 is a change as well.
		SELECT string_agg(k.k, ',' ORDER BY k.k COLLATE "C") INTO changed
		FROM jsonb_object_keys(n) AS k(k)
		WHERE (n -> k.k)::text IS DISTINCT FROM (o -> k.k)::text;
		IF changed IS NULL THEN
			RETURN NULL;
		END IF;
		INSERT INTO %[1]s.` + Table + ` (tbl, key, op, cols) VALUES (t, nkey, 'update', changed);
	END IF;
	PERFORM pg_notify('` + Channel + `', t);
	RETURN NULL;
END
$bake$`

// pgSchema returns the quoted current schema, where bake_changes lives; ok is
// false when search_path names no existing schema.
func pgSchema(ctx context.Context, tx *sql.Tx) (schema string, ok bool, err error) {
	var s sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s); err != nil {
		return "", false, err
	}
	if !s.Valid {
		return "", false, nil
	}
	// Serialise bake's DDL in this schema: two concurrent CREATE OR REPLACE
	// FUNCTION fail with "tuple concurrently updated".
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", s.String+"."+Table); err != nil {
		return "", false, err
	}
	return quoteIdent(s.String), true, nil
}

func installPostgres(ctx context.Context, tx *sql.Tx, tables []string) error {
	schema, ok, err := pgSchema(ctx, tx)
	if err == nil && !ok {
		err = errors.New("no schema to create " + Table + " in: search_path names no existing schema")
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, fmt.Sprintf(pgTable, schema))
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, fmt.Sprintf(pgFunctionSQL, schema))
	}
	if err != nil {
		return fmt.Errorf("install change capture: %w", err)
	}
	for _, t := range tables {
		if err := installPostgresTable(ctx, tx, schema, t); err != nil {
			return fmt.Errorf("install change capture on %s: %w", t, err)
		}
	}
	return nil
}

// pgCandidates returns the quoted names table may mean, in the order tried:
// as is (a quoted "MixedCase" table, or a table whose name holds a dot),
// split into schema and table at the first dot, and the same in lower case
// (a table created unquoted, whose name PostgreSQL folded).
func pgCandidates(table string) []string {
	var out []string
	for _, name := range []string{table, strings.ToLower(table)} {
		out = append(out, quoteIdent(name))
		if s, t, ok := strings.Cut(name, "."); ok {
			out = append(out, quoteIdent(s)+"."+quoteIdent(t))
		}
	}
	return out
}

func installPostgresTable(ctx context.Context, tx *sql.Tx, schema, table string) error {
	var qualified, kind string
	for _, c := range pgCandidates(table) {
		var nsp, rel string
		err := tx.QueryRowContext(ctx, `SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, c).Scan(&nsp, &rel, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if rel == Table && quoteIdent(nsp) == schema {
			return errors.New("it is bake's own table of changes")
		}
		qualified = quoteIdent(nsp) + "." + quoteIdent(rel)
		break
	}
	switch kind {
	case "":
		return errors.New("no such table (looked up through search_path, as named and in lower case)")
	case "r", "p": // table, partitioned table
	case "v":
		return errors.New("it is a view: changes can be captured only on tables")
	case "m":
		return errors.New("it is a materialized view: changes can be captured only on tables")
	default:
		return fmt.Errorf("it is not a table (relkind %s): changes can be captured only on tables", kind)
	}
	pk, err := pgPrimaryKey(ctx, tx, qualified)
	if err != nil {
		return err
	}
	if len(pk) == 0 {
		return fmt.Errorf("no primary key, so a change cannot name its row: "+
			"give the table one (ALTER TABLE %s ADD PRIMARY KEY (column)) or leave it out of change capture", qualified)
	}
	args := []string{quoteLiteral(table)}
	for _, c := range pk {
		args = append(args, quoteLiteral(c))
	}
	if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+pgTrigger+" ON "+qualified); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "CREATE TRIGGER "+pgTrigger+" AFTER INSERT OR UPDATE OR DELETE ON "+qualified+
		" FOR EACH ROW EXECUTE FUNCTION "+schema+"."+pgFunction+"("+strings.Join(args, ", ")+")")
	return err
}

// pgPrimaryKey returns the primary key columns of the table, in key order.
func pgPrimaryKey(ctx context.Context, db queryer, qualified string) ([]string, error) {
	return columnList(db.QueryContext(ctx, `SELECT a.attname FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = $1::regclass AND i.indisprimary
		ORDER BY k.ord`, qualified))
}

// pgInstalled selects the arguments of the triggers that call the function
// in the current schema (partitions' clones of a trigger included).
const pgInstalled = `SELECT t.tgargs FROM pg_trigger t
	JOIN pg_proc p ON p.oid = t.tgfoid
	JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE t.tgname = '` + pgTrigger + `' AND p.proname = '` + pgFunction + `' AND n.nspname = current_schema()`

func installedPostgres(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, pgInstalled)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var args []byte
		if err := rows.Scan(&args); err != nil {
			return nil, err
		}
		// tgargs holds each argument followed by a NUL; the first is the table.
		name, _, _ := strings.Cut(string(args), "\x00")
		tables = append(tables, name)
	}
	return tables, rows.Err()
}

func uninstallPostgres(ctx context.Context, tx *sql.Tx) error {
	schema, ok, err := pgSchema(ctx, tx)
	if err != nil || !ok {
		return err // no current schema: nothing can be installed
	}
	// Only triggers can depend on a trigger function, so CASCADE drops bake's
	// triggers, and with them their clones on partitions.
	if _, err := tx.ExecContext(ctx, "DROP FUNCTION IF EXISTS "+schema+"."+pgFunction+"() CASCADE"); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+schema+"."+Table)
	return err
}

// pgxConn is the driver connection of github.com/jackc/pgx/v5/stdlib.
type pgxConn interface {
	Conn() *pgx.Conn
}

// unlistenTimeout bounds the UNLISTEN that readies Wait's connection for
// reuse.
const unlistenTimeout = 5 * time.Second

func waitPostgres(ctx context.Context, db *sql.DB, after int64) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(pgxConn)
		if !ok {
			return fmt.Errorf("LISTEN needs pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib), not %T", dc)
		}
		c := pc.Conn()
		err := listen(ctx, c, after)
		// Stop listening even when ctx is done, so the connection goes back
		// to the pool clean; one that cannot is closed instead.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlistenTimeout)
		defer cancel()
		if _, uerr := c.Exec(uctx, "UNLISTEN "+Channel); uerr != nil {
			return errors.Join(err, driver.ErrBadConn)
		}
		return err
	})
}

// listen LISTENs on c and returns once a change with an ID above after is
// pending. Every notification is checked against bake_changes, since the
// channel is shared by every schema of the database.
func listen(ctx context.Context, c *pgx.Conn, after int64) error {
	if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	for {
		var pending bool
		err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+Table+" WHERE id > $1)", after).Scan(&pending)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
			return errNotInstalled()
		}
		if err != nil {
			return err
		}
		if pending {
			return nil
		}
		if _, err := c.WaitForNotification(ctx); err != nil {
			return err
		}
	}
}
