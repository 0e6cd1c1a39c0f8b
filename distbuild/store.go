// Package distbuild spreads one full build over many worker processes, on
// any number of machines, that share a PostgreSQL database and the target
// bucket (see docs/scale-out.md). The build is cut into shards
// ([sqlsite.Shard]), each a River job on PostgreSQL; a worker renders a
// shard's pages, uploads each file to the bucket under its SHA-256
// (.bake/staged/), and records the shard's manifest lines in PostgreSQL in
// the transaction that completes its job; the shard that completes the
// build enqueues the job that publishes it, as bake publish would a build
// folder. A shard with problems fails the build, which then never goes
// live.
package distbuild

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Queue is the River queue of shards and finishing jobs.
const Queue = "bake_shards"

// Build states.
const (
	StateRunning    = "running"    // shards are rendered
	StatePublishing = "publishing" // every shard is done; the finishing job publishes
	StateLive       = "live"       // published
	StateFailed     = "failed"     // a shard or the publish failed; the old release is live
)

// store is the tables of distributed builds, in the schema of River's.
type store struct {
	pool   *pgxpool.Pool
	name   string // the schema
	schema string // the schema, quoted
}

func newStore(pool *pgxpool.Pool, schema string) store {
	if schema == "" {
		schema = "public"
	}
	return store{pool: pool, name: schema, schema: pgx.Identifier{schema}.Sanitize()}
}

// t returns the qualified name of one of the tables.
func (s store) t(name string) string { return s.schema + "." + name }

// Migrate creates the tables of distributed builds in schema (River's
// tables must be there too: see jobs.Migrate).
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	s := newStore(pool, schema)
	_, err := pool.Exec(ctx, strings.NewReplacer("$builds", s.t("bake_dist_builds"), "$shards", s.t("bake_dist_shards"), "$entries", s.t("bake_dist_entries"), "$copies", s.t("bake_dist_copies")).Replace(`
CREATE TABLE IF NOT EXISTS $builds (
	id text PRIMARY KEY,
	target text NOT NULL,
	state text NOT NULL,
	shards int NOT NULL,
	shards_done int NOT NULL DEFAULT 0,
	pages bigint NOT NULL DEFAULT 0,
	bytes bigint NOT NULL DEFAULT 0,
	error text NOT NULL DEFAULT '',
	release text NOT NULL DEFAULT '',
	result jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS $shards (
	build text NOT NULL REFERENCES $builds (id) ON DELETE CASCADE,
	shard int NOT NULL,
	spec jsonb NOT NULL,
	done boolean NOT NULL DEFAULT false,
	pages int NOT NULL DEFAULT 0,
	seconds double precision NOT NULL DEFAULT 0,
	worker text NOT NULL DEFAULT '',
	PRIMARY KEY (build, shard)
);
CREATE TABLE IF NOT EXISTS $entries (
	build text NOT NULL REFERENCES $builds (id) ON DELETE CASCADE,
	path text NOT NULL,
	shard int NOT NULL,
	line text NOT NULL,
	PRIMARY KEY (build, path)
);
CREATE TABLE IF NOT EXISTS $copies (
	build text NOT NULL REFERENCES $builds (id) ON DELETE CASCADE,
	run text NOT NULL,
	part int NOT NULL,
	copies text NOT NULL,
	done boolean NOT NULL DEFAULT false,
	missing text NOT NULL DEFAULT '',
	worker text NOT NULL DEFAULT '',
	seconds double precision NOT NULL DEFAULT 0,
	PRIMARY KEY (build, run, part)
);
`))
	if err != nil {
		return fmt.Errorf("distbuild: create tables: %w", err)
	}
	// Columns added since the first tables: an ALTER TABLE waits for an
	// exclusive lock (on tables the running workers use), so it runs only
	// when a column is missing.
	var have int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1
		AND ((table_name = 'bake_dist_builds' AND column_name IN ('base', 'changes', 'capture', 'index_values'))
		OR (table_name = 'bake_dist_shards' AND column_name = 'state'))`, s.name).Scan(&have); err != nil {
		return fmt.Errorf("distbuild: create tables: %w", err)
	}
	if have == 5 {
		return nil
	}
	_, err = pool.Exec(ctx, strings.NewReplacer("$builds", s.t("bake_dist_builds"), "$shards", s.t("bake_dist_shards")).Replace(`
ALTER TABLE $builds ADD COLUMN IF NOT EXISTS base text NOT NULL DEFAULT '';
ALTER TABLE $builds ADD COLUMN IF NOT EXISTS changes jsonb;
ALTER TABLE $builds ADD COLUMN IF NOT EXISTS capture jsonb;
ALTER TABLE $builds ADD COLUMN IF NOT EXISTS index_values jsonb;
ALTER TABLE $shards ADD COLUMN IF NOT EXISTS state jsonb;`))
	if err != nil {
		return fmt.Errorf("distbuild: create tables: %w", err)
	}
	return nil
}

// Status is the state of one distributed build.
type Status struct {
	ID         string        `json:"id"`
	Target     string        `json:"target"`
	State      string        `json:"state"`
	Shards     int           `json:"shards"`
	ShardsDone int           `json:"shards_done"`
	Pages      int64         `json:"pages"`
	Bytes      int64         `json:"bytes"`
	Error      string        `json:"error,omitempty"`
	Release    string        `json:"release,omitempty"`
	Result     []byte        `json:"-"` // the publish's report, JSON
	Elapsed    time.Duration `json:"-"`
}

// ErrNoBuild is returned (wrapped) for a build ID that is not recorded.
var ErrNoBuild = errors.New("no such distributed build")

// ReadStatus returns the state of build id.
func ReadStatus(ctx context.Context, pool *pgxpool.Pool, schema, id string) (Status, error) {
	return newStore(pool, schema).status(ctx, pool, id)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s store) status(ctx context.Context, q querier, id string) (Status, error) {
	st := Status{ID: id}
	var secs float64
	err := q.QueryRow(ctx, `SELECT target, state, shards, shards_done, pages, bytes, error, release, result,
		extract(epoch FROM coalesce(finished_at, now()) - created_at) FROM `+s.t("bake_dist_builds")+` WHERE id = $1`, id).
		Scan(&st.Target, &st.State, &st.Shards, &st.ShardsDone, &st.Pages, &st.Bytes, &st.Error, &st.Release, &st.Result, &secs)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("build %s: %w", id, ErrNoBuild)
	}
	if err != nil {
		return st, fmt.Errorf("read build %s: %w", id, err)
	}
	st.Elapsed = time.Duration(secs * float64(time.Second))
	return st, nil
}

// fail records that build id failed with msg, unless it is live already
// or failed before (the first failure is the one reported).
func (s store) fail(ctx context.Context, id, msg string) error {
	_, err := s.pool.Exec(ctx, `UPDATE `+s.t("bake_dist_builds")+` SET state = $2, error = $3, finished_at = now()
		WHERE id = $1 AND state IN ($4, $5)`, id, StateFailed, msg, StateRunning, StatePublishing)
	if err != nil {
		return fmt.Errorf("record failure of build %s: %w", id, err)
	}
	return nil
}
