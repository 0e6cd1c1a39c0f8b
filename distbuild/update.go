package distbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/publish"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"gocloud.dev/blob"
)

// An update (an incremental distributed build) brings the live build of
// a target up to date with changes, as bake build does a build folder:
// each of its parts is a job that any worker runs. A part writes the
// live build's index (its manifest lines and values, from PostgreSQL)
// into a folder of its own, runs build.Update there with the site, for
// the pages whose path falls in its share (PartOf), stages the files it
// wrote, and records the lines it put and the paths it removed. The
// finishing job makes the update's lines (the base's, less the paths the
// parts removed or made again, plus theirs) and publishes them as for a
// full build: the diff finds only the files that changed. Every part
// plans the update again (the queries, not the renders), so that no plan
// has to travel; the planner's own pass, which renders nothing, only
// sizes the parts (PlanUpdate). Each machine keeps the indexes it made
// (IndexCache) and makes the next from them and the lines an update
// changed.

// writeIndex makes dir a build folder holding only the index of build id,
// from the manifest lines its shards or parts recorded (a line "" is a
// page an update removed: not in the build), with values.
func (s store) writeIndex(ctx context.Context, pool *pgxpool.Pool, dir, id string, values map[string]string) error {
	stage, err := output.Begin(dir)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			stage.Abort()
		}
	}()
	name, err := stage.IndexPath()
	if err != nil {
		return err
	}
	iw, err := output.NewIndexWriter(ctx, name)
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, `SELECT line FROM `+s.t("bake_dist_entries")+` WHERE build = $1 AND line <> ''`, id)
	if err != nil {
		iw.Abort()
		return fmt.Errorf("read manifest of build %s: %w", id, err)
	}
	for rows.Next() {
		var line []byte
		if err := rows.Scan(&line); err != nil {
			break
		}
		var e bake.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			rows.Close()
			iw.Abort()
			return fmt.Errorf("read manifest of build %s: %w", id, err)
		}
		if err := iw.Add(ctx, &e, line); err != nil {
			rows.Close()
			iw.Abort()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		iw.Abort()
		return fmt.Errorf("read manifest of build %s: %w", id, err)
	}
	if err := iw.Commit(ctx, values); err != nil {
		return err
	}
	if err := stage.Commit(); err != nil {
		return err
	}
	committed = true
	stage.Wait()
	return nil
}

// indexValues returns the values stored with the index of build id (see
// bake.Updater.State): those its finishing job recorded.
func (s store) indexValues(ctx context.Context, pool *pgxpool.Pool, id string) (map[string]string, error) {
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT index_values FROM `+s.t("bake_dist_builds")+` WHERE id = $1`, id).Scan(&raw); err != nil {
		return nil, fmt.Errorf("read values of build %s: %w", id, err)
	}
	values := map[string]string{}
	if raw != nil {
		if err := json.Unmarshal(raw, &values); err != nil {
			return nil, fmt.Errorf("read values of build %s: %w", id, err)
		}
	}
	return values, nil
}

// shardValues returns the values of build id: those its shards or parts
// recorded, merged (a shard of one route records the state of that
// route's lists; the values every shard records alike, the hashes of the
// templates and site queries, are the same), with the build's finish
// options.
func (s store) shardValues(ctx context.Context, pool *pgxpool.Pool, id string, finish build.FinishOptions) (map[string]string, error) {
	rows, err := pool.Query(ctx, `SELECT state FROM `+s.t("bake_dist_shards")+` WHERE build = $1 AND state IS NOT NULL ORDER BY shard`, id)
	if err != nil {
		return nil, fmt.Errorf("read values of build %s: %w", id, err)
	}
	defer rows.Close()
	values := map[string]string{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("read values of build %s: %w", id, err)
		}
		var v map[string]string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("read values of build %s: %w", id, err)
		}
		for k, x := range v {
			if _, ok := values[k]; !ok {
				values[k] = x
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read values of build %s: %w", id, err)
	}
	return build.WithFinishValue(values, finish), nil
}

// PlanUpdate sizes an update of the live build base of a target: it runs
// the update in a temporary folder without rendering a page, and returns
// how many pages it would render or remove (at most), and how many the
// base has. An error wrapping bake.ErrFullBuild means the changes need a
// full build (the configuration or the output settings changed).
func PlanUpdate(ctx context.Context, pool *pgxpool.Pool, schema, base string, site bake.Updater, changes []bake.Change, finish build.FinishOptions, tempDir string, indexes *IndexCache) (pages, total int, err error) {
	s := newStore(pool, schema)
	tmp, err := os.MkdirTemp(tempDir, "bake-plan-")
	if err != nil {
		return 0, 0, fmt.Errorf("plan update: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "build")
	if err := s.index(ctx, pool, indexes, dir, base); err != nil {
		return 0, 0, fmt.Errorf("plan update: %w", err)
	}
	if total, err = build.IndexPages(ctx, dir); err != nil {
		return 0, 0, fmt.Errorf("plan update: %w", err)
	}
	var mu sync.Mutex
	rep, err := build.Update(ctx, site, changes, build.Options{Output: dir, Finish: finish, Workers: 1,
		Only: func(string) bool { mu.Lock(); pages++; mu.Unlock(); return false }})
	if err != nil {
		if rep != nil && len(rep.Problems) > 0 {
			// Found before anything is enqueued: the live build stays.
			return 0, 0, errors.New(problemsText("plan update", rep.Problems))
		}
		return 0, 0, fmt.Errorf("plan update: %w", err)
	}
	return pages, total, nil
}

// update runs one part of an update: build.Update over the base build's
// index, for the part's share of the paths, then stages what it wrote.
func (sw *shardWorker) update(ctx context.Context, target string, a ShardArgs) (*shardResult, error) {
	w := sw.w
	s := w.store
	site, ok := w.cfg.Site.(bake.Updater)
	if !ok {
		return nil, river.JobCancel(errors.New("this worker's site cannot update a build"))
	}
	var base string
	var rawChanges []byte
	if err := w.cfg.Pool.QueryRow(ctx, `SELECT base, changes FROM `+s.t("bake_dist_builds")+` WHERE id = $1`, a.Build).Scan(&base, &rawChanges); err != nil {
		return nil, fmt.Errorf("read update %s: %w", a.Build, err)
	}
	var changes []bake.Change
	if err := json.Unmarshal(rawChanges, &changes); err != nil {
		return nil, fmt.Errorf("read update %s: %w", a.Build, err)
	}
	// The base must still be live, with its lines: a newer build that
	// went live meanwhile makes this update stale.
	bst, err := s.status(ctx, w.cfg.Pool, base)
	if err != nil {
		return nil, err
	}
	if bst.State != StateLive {
		return &shardResult{problems: []*bake.Error{{Err: fmt.Errorf("build %s, which this update starts from, is %s now, not live: run bake build --distributed again", base, bst.State)}}}, nil
	}
	tmp, err := os.MkdirTemp(w.cfg.TempDir, "bake-update-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "build")
	t0 := time.Now()
	if err := s.index(ctx, w.cfg.Pool, w.cfg.Indexes, dir, base); err != nil {
		return nil, err
	}
	t1 := time.Now()
	part := *a.Part
	rep, err := build.Update(ctx, site, changes, build.Options{Output: dir, Finish: w.cfg.Finish, Logger: w.cfg.Logger,
		Only: func(path string) bool { return PartOf(path, part.Of) == part.N }})
	if errors.Is(err, build.ErrProblems) && rep != nil {
		return &shardResult{problems: rep.Problems}, nil
	}
	if errors.Is(err, bake.ErrFullBuild) {
		return &shardResult{problems: []*bake.Error{{Err: fmt.Errorf("the update needs a full build (%w): run bake build --distributed --full", err)}}}, nil
	}
	if err != nil {
		return nil, err
	}
	bucket, forms, formed, err := w.stagingTarget(ctx, target)
	if err != nil {
		return nil, err
	}
	u := rep.Applied
	t2 := time.Now()
	res := &shardResult{state: maps.Clone(u.Values)}
	defer func() {
		res.phases = []any{"index_s", t1.Sub(t0).Seconds(), "update_s", t2.Sub(t1).Seconds(), "stage_s", time.Since(t2).Seconds()}
	}()
	for _, path := range u.Remove {
		res.rows = append(res.rows, []any{a.Build, path, a.Index, ""})
	}
	// Stage the files written, uploads at once; a file put with the same
	// bytes as before (new deps only) is staged already.
	var mu sync.Mutex
	err = forEach(ctx, w.cfg.Uploads, u.Put, func(ctx context.Context, rec output.Record) error {
		n, err := w.stageWritten(ctx, bucket, dir, rec.Entry, forms, formed)
		if err != nil {
			return fmt.Errorf("stage %s: %w", rec.Entry.Path, err)
		}
		mu.Lock()
		res.rows = append(res.rows, []any{a.Build, rec.Entry.Path, a.Index, string(rec.Line)})
		if n > 0 {
			res.pages++
			res.bytes += n
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// stageWritten stages the file of e that an update wrote into the build
// folder dir, with its siblings, and returns its size; 0 when the update
// did not write it (same bytes, new deps: staged already).
func (w *Worker) stageWritten(ctx context.Context, bucket *blob.Bucket, dir string, e bake.Entry, forms publish.FormOptions, formed bool) (int64, error) {
	name, err := bake.FileName(e.Path)
	if err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	data, err := root.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if sha := sha256Hex(data); sha != e.SHA256 {
		return 0, nil // not this build's bytes: not written by the update
	}
	var sibs []precompress.Sibling
	for _, cd := range e.Encodings {
		ext := precompress.Ext(cd)
		b, err := root.ReadFile(name + ext)
		if err != nil {
			return 0, err
		}
		sibs = append(sibs, precompress.Sibling{Coding: cd, Ext: ext, Data: b})
	}
	return e.Size, w.stageFile(ctx, bucket, e, data, sibs, forms, formed)
}

// mergeUpdate makes the lines of update id complete, once: the lines of
// its base that its parts neither removed nor made again join its own.
func (s store) mergeUpdate(ctx context.Context, pool *pgxpool.Pool, id string) error {
	var base string
	if err := pool.QueryRow(ctx, `SELECT base FROM `+s.t("bake_dist_builds")+` WHERE id = $1`, id).Scan(&base); err != nil {
		return fmt.Errorf("merge update %s: %w", id, err)
	}
	if base == "" {
		return nil // a full build
	}
	// Idempotent: a path of the update (removed ones included, as "")
	// keeps its line, the primary key refusing the base's; a second run
	// finds every path there. (An anti-join planned from the statistics
	// of a build not yet analysed ran in quadratic time.)
	_, err := pool.Exec(ctx, `INSERT INTO `+s.t("bake_dist_entries")+` (build, path, shard, line)
		SELECT $1, path, -1, line FROM `+s.t("bake_dist_entries")+` WHERE build = $2
		ON CONFLICT (build, path) DO NOTHING`, id, base)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("merge update %s: %w", id, err)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
