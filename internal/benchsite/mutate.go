package benchsite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// editedSuffix marks a title changed by Mutate: it is added, or removed when
// present, so that every call changes the title.
const editedSuffix = " (edited)"

// Mutate applies one change of the incremental benchmark to the items table
// made by [Populate] and returns the id of the affected row, as a string.
// kind is one of:
//
//   - [MutateTitle]: the title of the middle published row (the first one
//     with an id at or past half the largest id) gets " (edited)" appended,
//     or removed if it has it; no other column changes.
//   - [MutateUnpublish]: the middle published row gets published = false.
//   - [MutateInsert]: a published row with the next id is inserted, with
//     the content Populate would give that id for opts.Seed and the latest
//     updated_at ([UpdatedAt] of its id).
//   - [MutateDelete]: the middle published row is deleted.
//
// dialect is "sqlite" or "postgres". opts.Items is not used: the rows are
// found in the table.
func Mutate(ctx context.Context, db *sql.DB, dialect string, kind string, opts Options) (key string, err error) {
	d, err := newDialect(dialect)
	if err != nil {
		return "", err
	}
	switch kind {
	case MutateTitle, MutateUnpublish, MutateInsert, MutateDelete:
	default:
		return "", fmt.Errorf("mutate: unknown kind %q (want %q, %q, %q or %q)", kind, MutateTitle, MutateUnpublish, MutateInsert, MutateDelete)
	}
	opts = opts.withDefaults()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("mutate %s: %w", kind, err)
	}
	defer tx.Rollback()
	id, err := mutate(ctx, tx, d, kind, opts)
	if err != nil {
		return "", fmt.Errorf("mutate %s: %w", kind, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("mutate %s: commit: %w", kind, err)
	}
	return strconv.FormatInt(id, 10), nil
}

func mutate(ctx context.Context, tx *sql.Tx, d dialect, kind string, opts Options) (int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM items").Scan(&last); err != nil {
		return 0, fmt.Errorf("read last id: %w", err)
	}
	if kind == MutateInsert {
		return last + 1, insertRow(ctx, tx, d, last+1, opts)
	}

	id, title, err := middlePublished(ctx, tx, d, (last+1)/2)
	if err != nil {
		return 0, err
	}
	switch kind {
	case MutateUnpublish:
		_, err = tx.ExecContext(ctx, d.rebind("UPDATE items SET published = ? WHERE id = ?"), false, id)
		return id, err
	case MutateDelete:
		_, err = tx.ExecContext(ctx, d.rebind("DELETE FROM items WHERE id = ?"), id)
		return id, err
	}
	if t, ok := strings.CutSuffix(title, editedSuffix); ok {
		title = t
	} else {
		title += editedSuffix
	}
	_, err = tx.ExecContext(ctx, d.rebind("UPDATE items SET title = ? WHERE id = ?"), title, id)
	return id, err
}

// middlePublished returns the first published row with an id at or past mid,
// or, when there is none, the last one before it.
func middlePublished(ctx context.Context, tx *sql.Tx, d dialect, mid int64) (id int64, title string, err error) {
	for _, q := range []string{
		"SELECT id, title FROM items WHERE published AND id >= ? ORDER BY id LIMIT 1",
		"SELECT id, title FROM items WHERE published AND id < ? ORDER BY id DESC LIMIT 1",
	} {
		err = tx.QueryRowContext(ctx, d.rebind(q), mid).Scan(&id, &title)
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", errors.New("no published row")
	}
	if err != nil {
		return 0, "", fmt.Errorf("find published row: %w", err)
	}
	return id, title, nil
}

// insertRow inserts row id as Populate would have made it, published.
func insertRow(ctx context.Context, tx *sql.Tx, d dialect, id int64, opts Options) error {
	buf, it := newGenerator(opts.Seed).row(nil, id)
	text := string(buf)
	_, err := tx.ExecContext(ctx, insertStatement(d, 1),
		it.id,
		text[it.slug.start:it.slug.end],
		text[it.title.start:it.title.end],
		text[it.body.start:it.body.end],
		it.category,
		true,
		d.timestamp(UpdatedAt(id)),
	)
	if err != nil {
		return fmt.Errorf("insert item %d: %w", id, err)
	}
	return nil
}
