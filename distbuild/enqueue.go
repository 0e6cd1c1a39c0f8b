package distbuild

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/publish"
	"github.com/bakehq/bake/sqlsite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// StagedPrefix is where workers upload the files of a distributed build,
// each under its SHA-256, until the finishing job publishes them.
const StagedPrefix = publish.StagedPrefix

// StagedKey returns the key of the staged file whose SHA-256 is sha.
func StagedKey(sha string) string { return StagedPrefix + sha }

// siblingKey returns the key of the staged precompressed sibling, of
// extension ext, of the file whose SHA-256 is sha, made as o says: the
// options are in the key, since other options make other bytes.
func siblingKey(sha string, o build.FinishOptions, ext string) string {
	h := sha256.Sum256([]byte(o.Precompress.String()))
	return StagedKey(sha) + "-" + hex.EncodeToString(h[:4]) + ext
}

// ShardArgs is the job of one shard.
type ShardArgs struct {
	Build string        `json:"build"`
	Index int           `json:"shard"`
	Shard sqlsite.Shard `json:"spec"`
}

// Kind is the job's kind in River.
func (ShardArgs) Kind() string { return "bake_shard" }

// ShardAttempts is how many times a shard that fails (other than with
// problems, which fail the build at once) is tried before the build fails.
const ShardAttempts = 5

// InsertOpts puts shards in the queue of distributed builds.
func (ShardArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: ShardAttempts}
}

// FinishArgs is the job that publishes a build once every shard is done.
type FinishArgs struct {
	Build string `json:"build"`
}

// Kind is the job's kind in River.
func (FinishArgs) Kind() string { return "bake_finish" }

// InsertOpts puts the finishing job in the queue of distributed builds,
// once per build.
func (FinishArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CopyArgs is the job of one part of the server-side copies that make a
// build live: the finishing job enqueues one a part, and copies parts
// itself too; whichever claims a part first copies it.
type CopyArgs struct {
	Build  string `json:"build"`
	Target string `json:"target"`
	Run    string `json:"run"` // the finishing job's try, and phase
	Part   int    `json:"part"`
}

// Kind is the job's kind in River.
func (CopyArgs) Kind() string { return "bake_copy" }

// InsertOpts puts the copies in the queue of distributed builds. A part
// not copied by its job is copied by the finishing job.
func (CopyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 3}
}

// formKey returns the key of the staged published form (see
// publish.Published) of the file whose SHA-256 is sha, with the headers
// whose digest is digest (publish.FormDigest).
func formKey(sha, digest string) string { return StagedKey(sha) + "." + digest }

// Enqueue records a build of shards to the bucket at target (a URL every
// worker opens the same way) and enqueues its shards, in one transaction:
// a build is enqueued whole or not at all. It returns the build's ID.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, schema, target string, shards []sqlsite.Shard) (string, error) {
	if len(shards) == 0 {
		return "", fmt.Errorf("enqueue build: no shards")
	}
	s := newStore(pool, schema)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema})
	if err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	b := make([]byte, 3)
	rand.Read(b)
	id := time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO `+s.t("bake_dist_builds")+` (id, target, state, shards) VALUES ($1, $2, $3, $4)`,
		id, target, StateRunning, len(shards)); err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	rows := make([][]any, len(shards))
	params := make([]river.InsertManyParams, len(shards))
	for i, sh := range shards {
		spec, err := json.Marshal(sh)
		if err != nil {
			return "", fmt.Errorf("enqueue build: %w", err)
		}
		rows[i] = []any{id, i, string(spec)}
		params[i] = river.InsertManyParams{Args: ShardArgs{Build: id, Index: i, Shard: sh}}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.name, "bake_dist_shards"}, []string{"build", "shard", "spec"}, pgx.CopyFromRows(rows)); err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	if _, err := client.InsertManyFastTx(ctx, tx, params); err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	return id, nil
}
