package distbuild

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/bakehq/bake"
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

// ShardArgs is the job of one shard: of a full build, Shard; of an
// update, Part.
type ShardArgs struct {
	Build string        `json:"build"`
	Index int           `json:"shard"`
	Shard sqlsite.Shard `json:"spec"`
	Part  *Part         `json:"part,omitempty"`
}

// Part is one share of an update (an incremental distributed build): the
// pages of the update whose path hashes to N among Of (see PartOf).
type Part struct {
	N  int `json:"n"`
	Of int `json:"of"`
}

// PartOf returns the share (0 to of-1) of an update's path.
func PartOf(path string, of int) int {
	h := fnv.New32a()
	h.Write([]byte(path))
	return int(h.Sum32() % uint32(of))
}

// String describes p for messages.
func (p Part) String() string { return fmt.Sprintf("part %d of %d", p.N+1, p.Of) }

func (a ShardArgs) spec() string {
	if a.Part != nil {
		return a.Part.String()
	}
	return a.Shard.String()
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
// capture, if any, are the IDs of the changes change capture recorded
// before the build was planned, which it consumes once live.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, schema, target string, shards []sqlsite.Shard, capture ...int64) (string, error) {
	if len(shards) == 0 {
		return "", fmt.Errorf("enqueue build: no shards")
	}
	args := make([]ShardArgs, len(shards))
	for i, sh := range shards {
		args[i] = ShardArgs{Index: i, Shard: sh}
	}
	var u *Update
	if len(capture) > 0 {
		u = &Update{Capture: capture}
	}
	return enqueue(ctx, pool, schema, target, args, u)
}

// An Update is an incremental distributed build: the changes since the
// live build Base of a target, applied in Parts shares, each a job that
// any worker runs (see [EnqueueUpdate]).
type Update struct {
	Base    string        // the live build it updates
	Changes []bake.Change // what changed since Base (as build.Changes.List)
	// Capture is the IDs of the changes change capture recorded, which
	// the finishing job consumes once the update is live.
	Capture []int64
	Parts   int
}

// EnqueueUpdate records an update of the build u.Base and enqueues its
// parts, in one transaction. It returns the update's build ID.
func EnqueueUpdate(ctx context.Context, pool *pgxpool.Pool, schema, target string, u Update) (string, error) {
	if u.Parts < 1 {
		return "", fmt.Errorf("enqueue update: no parts")
	}
	args := make([]ShardArgs, u.Parts)
	for i := range args {
		args[i] = ShardArgs{Index: i, Part: &Part{N: i, Of: u.Parts}}
	}
	return enqueue(ctx, pool, schema, target, args, &u)
}

// LiveBuild returns the ID of the build of target live now, "" if none
// (the target was never published by a distributed build, or its last
// publish was not one).
func LiveBuild(ctx context.Context, pool *pgxpool.Pool, schema, target string) (string, error) {
	s := newStore(pool, schema)
	var id string
	err := pool.QueryRow(ctx, `SELECT id FROM `+s.t("bake_dist_builds")+` WHERE target = $1 AND state = $2
		ORDER BY finished_at DESC LIMIT 1`, target, StateLive).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find the live build of %s: %w", target, err)
	}
	return id, nil
}

func enqueue(ctx context.Context, pool *pgxpool.Pool, schema, target string, args []ShardArgs, u *Update) (string, error) {
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
	if u == nil {
		_, err = tx.Exec(ctx, `INSERT INTO `+s.t("bake_dist_builds")+` (id, target, state, shards) VALUES ($1, $2, $3, $4)`,
			id, target, StateRunning, len(args))
	} else {
		var changes, capture []byte
		if changes, err = json.Marshal(u.Changes); err == nil {
			capture, err = json.Marshal(u.Capture)
		}
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO `+s.t("bake_dist_builds")+` (id, target, state, shards, base, changes, capture)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, target, StateRunning, len(args), u.Base, string(changes), string(capture))
		}
	}
	if err != nil {
		return "", fmt.Errorf("enqueue build: %w", err)
	}
	rows := make([][]any, len(args))
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		var spec []byte
		if a.Part != nil {
			spec, err = json.Marshal(a.Part)
		} else {
			spec, err = json.Marshal(a.Shard)
		}
		if err != nil {
			return "", fmt.Errorf("enqueue build: %w", err)
		}
		a.Build = id
		rows[i] = []any{id, i, string(spec)}
		params[i] = river.InsertManyParams{Args: a}
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
