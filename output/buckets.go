package output

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/bakehq/bake/internal/pubformat"
)

// allBucketSums computes the sums of all [pubformat.Buckets] buckets in one
// pass over the pages in bucket and path order.
func allBucketSums(ctx context.Context, q queryer) ([]pubformat.Sum, error) {
	sums := make([]pubformat.Sum, pubformat.Buckets)
	for i := range sums {
		sums[i].Digest = pubformat.EmptyDigest
	}
	rows, err := q.QueryContext(ctx, "SELECT bucket, pub FROM pages ORDER BY bucket, path")
	if err != nil {
		return nil, fmt.Errorf("read index buckets: %w", err)
	}
	defer rows.Close()
	cur := -1
	var h pubformat.Hash
	store := func() {
		if cur >= 0 && cur < pubformat.Buckets {
			sums[cur] = h.Sum()
		}
		h = pubformat.Hash{}
	}
	var pub sql.RawBytes
	for rows.Next() {
		var b int
		if err := rows.Scan(&b, &pub); err != nil {
			return nil, fmt.Errorf("read index buckets: %w", err)
		}
		if b != cur {
			store()
			cur = b
		}
		h.Add(pub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read index buckets: %w", err)
	}
	store()
	return sums, nil
}

// storeSums replaces the kept sums with sums, and clears the pending mark.
func storeSums(ctx context.Context, tx *sql.Tx, sums []pubformat.Sum) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM buckets"); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO buckets (b, digest, files) VALUES (?, ?, ?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for b, s := range sums {
		if s.Files == 0 {
			continue
		}
		if _, err := stmt.ExecContext(ctx, b, s.Digest[:], s.Files); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM meta WHERE name = ?", sumsPending)
	return err
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// ensureBucketLookup makes the bucket lookup when the index has none yet
// (see bucketLookup); once per Index. A failure (a read-only folder) only
// leaves the queries that would use it slower.
func (x *Index) ensureBucketLookup(ctx context.Context) {
	if x.bucketLookup.Load() {
		return
	}
	var n int
	err := x.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'pages_bucket'").Scan(&n)
	if err == nil && n == 0 {
		_, err = x.db.ExecContext(ctx, bucketLookup)
	}
	if err == nil {
		x.bucketLookup.Store(true)
	}
}

// markBuckets forgets the sums of the buckets whose paths u changes; the
// next [Index.Buckets] computes them again.
func markBuckets(ctx context.Context, st *stmts, u Update) error {
	seen := map[int]bool{}
	mark := func(p string) error {
		b := pubformat.Bucket(p)
		if seen[b] {
			return nil
		}
		seen[b] = true
		_, err := st.exec(ctx, "INSERT INTO buckets (b, digest, files) VALUES (?, NULL, 0) ON CONFLICT (b) DO UPDATE SET digest = NULL", b)
		return err
	}
	for _, p := range u.Remove {
		if err := mark(p); err != nil {
			return err
		}
	}
	for _, r := range u.Put {
		if err := mark(r.Entry.Path); err != nil {
			return err
		}
	}
	return nil
}

// Buckets returns the sums of all [pubformat.Buckets] buckets, and the
// generation of the index they describe (see [Index.Generation]). After
// a full build it computes them all, in one pass (the build leaves them,
// see bucketLookup); after an incremental update, those of the buckets it
// changed, from their lines. Either way they are kept for the next call
// when no build changed the index meanwhile.
func (x *Index) Buckets(ctx context.Context) ([]pubformat.Sum, string, error) {
	x.ensureBucketLookup(ctx)
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", fmt.Errorf("read index buckets: %w", err)
	}
	defer tx.Rollback()
	var gen string
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'generation'").Scan(&gen); err != nil {
		return nil, "", fmt.Errorf("read index buckets: %w", err)
	}
	var pending int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE name = ?", sumsPending).Scan(&pending); err != nil {
		return nil, "", fmt.Errorf("read index buckets: %w", err)
	}
	if pending > 0 {
		// A full build's index: every sum is made now, and kept when no
		// build changed the index meanwhile (as below).
		sums, err := allBucketSums(ctx, tx)
		if err != nil {
			return nil, "", err
		}
		if storeSums(ctx, tx, sums) == nil {
			tx.Commit()
		}
		return sums, gen, nil
	}
	sums := make([]pubformat.Sum, pubformat.Buckets)
	for i := range sums {
		sums[i].Digest = pubformat.EmptyDigest
	}
	rows, err := tx.QueryContext(ctx, "SELECT b, digest, files FROM buckets")
	if err != nil {
		return nil, "", fmt.Errorf("read index buckets: %w", err)
	}
	var dirty []int
	for rows.Next() {
		var b, files int
		var digest []byte
		if err := rows.Scan(&b, &digest, &files); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("read index buckets: %w", err)
		}
		if b < 0 || b >= pubformat.Buckets {
			continue
		}
		if len(digest) != 32 {
			dirty = append(dirty, b)
			continue
		}
		sums[b] = pubformat.Sum{Digest: [32]byte(digest), Files: files}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("read index buckets: %w", err)
	}
	for _, b := range dirty {
		if sums[b], err = bucketSum(ctx, tx, b); err != nil {
			return nil, "", err
		}
	}
	if len(dirty) > 0 {
		// Kept for the next publish, if no build wrote meanwhile: this
		// transaction's view is then still the index's (SQLite refuses the
		// write otherwise, and the sums are computed again next time).
		ok := true
		for _, b := range dirty {
			if _, err := tx.ExecContext(ctx, "UPDATE buckets SET digest = ?, files = ? WHERE b = ? AND digest IS NULL", sums[b].Digest[:], sums[b].Files, b); err != nil {
				ok = false
				break
			}
		}
		if ok {
			tx.Commit()
		}
	}
	return sums, gen, nil
}

// bucketSum computes the sum of bucket b from its lines.
func bucketSum(ctx context.Context, q queryer, b int) (pubformat.Sum, error) {
	rows, err := q.QueryContext(ctx, "SELECT pub FROM pages WHERE bucket = ? ORDER BY path", b)
	if err != nil {
		return pubformat.Sum{}, fmt.Errorf("read index bucket %d: %w", b, err)
	}
	defer rows.Close()
	var h pubformat.Hash
	for rows.Next() {
		var raw sql.RawBytes
		if err := rows.Scan(&raw); err != nil {
			return pubformat.Sum{}, fmt.Errorf("read index bucket %d: %w", b, err)
		}
		h.Add(raw)
	}
	if err := rows.Err(); err != nil {
		return pubformat.Sum{}, fmt.Errorf("read index bucket %d: %w", b, err)
	}
	return h.Sum(), nil
}

// BucketLines streams the published lines ([pubformat.Line]) of the
// buckets first to last, sorted by path, each with its bucket; the slice
// is reused between iterations.
func (x *Index) BucketLines(ctx context.Context, first, last int) iter.Seq2[BucketLine, error] {
	return func(yield func(BucketLine, error) bool) {
		x.ensureBucketLookup(ctx)
		rows, err := x.db.QueryContext(ctx, "SELECT pub, bucket FROM pages WHERE bucket BETWEEN ? AND ? ORDER BY path", first, last)
		if err != nil {
			yield(BucketLine{}, fmt.Errorf("read index: %w", err))
			return
		}
		defer rows.Close()
		var l BucketLine
		for rows.Next() {
			var raw sql.RawBytes
			if err := rows.Scan(&raw, &l.Bucket); err != nil {
				yield(BucketLine{}, fmt.Errorf("read index: %w", err))
				return
			}
			l.Line = append(l.Line[:0], raw...)
			if !yield(l, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(BucketLine{}, fmt.Errorf("read index: %w", err))
		}
	}
}

// BucketLine is a published line and the bucket of its path.
type BucketLine struct {
	Line   []byte // without a newline
	Bucket int
}

// checkBuckets verifies the sums the index keeps against its lines.
func (x *Index) checkBuckets(ctx context.Context) error {
	x.ensureBucketLookup(ctx)
	rows, err := x.db.QueryContext(ctx, "SELECT b, digest, files FROM buckets WHERE digest IS NOT NULL")
	if err != nil {
		return fmt.Errorf("check index: %w", err)
	}
	type kept struct {
		b      int
		digest []byte
		files  int
	}
	var all []kept
	for rows.Next() {
		var k kept
		if err := rows.Scan(&k.b, &k.digest, &k.files); err != nil {
			rows.Close()
			return fmt.Errorf("check index: %w", err)
		}
		all = append(all, k)
	}
	rows.Close()
	for _, k := range all {
		s, err := bucketSum(ctx, x.db, k.b)
		if err != nil {
			return err
		}
		if string(s.Digest[:]) != string(k.digest) || s.Files != k.files {
			return fmt.Errorf("check index: bucket %d: kept sum of %d files differs from its %d lines", k.b, k.files, s.Files)
		}
	}
	return nil
}
