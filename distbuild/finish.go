package distbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/publish"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"gocloud.dev/blob"
)

type finishWorker struct {
	river.WorkerDefaults[FinishArgs]
	w *Worker
}

// Timeout: a publish of a million files takes minutes; the job is bounded
// by the rescue instead (Config.RescueAfter).
func (*finishWorker) Timeout(*river.Job[FinishArgs]) time.Duration { return -1 }

// Work publishes a build whose shards are all done: its manifest lines
// become a build index in a temporary folder, which is published as bake
// publish publishes a build folder, the files coming from the staged
// objects.
func (fw *finishWorker) Work(ctx context.Context, job *river.Job[FinishArgs]) error {
	w, id := fw.w, job.Args.Build
	s := w.store
	log := w.cfg.Logger.With("job", job.ID, "build", id, "attempt", job.Attempt)
	st, err := s.status(ctx, w.cfg.Pool, id)
	if err != nil {
		return err
	}
	if st.State == StateLive || st.State == StateFailed {
		return nil
	}
	if st.ShardsDone < st.Shards {
		return river.JobCancel(fmt.Errorf("build %s: %d of %d shards done: not ready to publish", id, st.ShardsDone, st.Shards))
	}
	// One publish to a target at a time, whichever worker runs it.
	conn, err := w.cfg.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	lock := "bake publish " + st.Target
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, lock).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		log.Info("another publish to the target runs; waiting")
		return river.JobSnooze(5 * time.Second)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, lock)

	// A newer build of the target, published first, is not replaced by
	// this older one.
	var newer string
	err = w.cfg.Pool.QueryRow(ctx, `SELECT id FROM `+s.t("bake_dist_builds")+` WHERE target = $1 AND state = $2
		AND created_at > (SELECT created_at FROM `+s.t("bake_dist_builds")+` WHERE id = $3) LIMIT 1`, st.Target, StateLive, id).Scan(&newer)
	if err == nil {
		log.Info("not published: a newer build is live", "newer", newer)
		return s.fail(ctx, id, "build "+newer+", enqueued after this one, was published first: this one is not published over it")
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("publish build %s: %w", id, err)
	}
	start := time.Now()
	if _, err := w.cfg.Pool.Exec(ctx, `UPDATE `+s.t("bake_dist_builds")+` SET state = $2 WHERE id = $1 AND state = $3`, id, StatePublishing, StateRunning); err != nil {
		return fmt.Errorf("publish build %s: %w", id, err)
	}
	release, report, err := fw.publish(ctx, st.Target, id)
	if errors.Is(err, publish.ErrTooManyDeletes) {
		// The build would delete more than the target allows: trying
		// again would too.
		w.cfg.Metrics.Build("error")
		if ferr := s.fail(ctx, id, err.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	if err != nil {
		w.cfg.Metrics.Build("error")
		if job.Attempt >= job.MaxAttempts {
			if ferr := s.fail(context.WithoutCancel(ctx), id, fmt.Sprintf("publish failed %d times, the last: %v", job.Attempt, err)); ferr != nil {
				log.Error("could not record the failure of the build", "err", ferr)
			}
		}
		return fmt.Errorf("publish build %s: %w", id, err)
	}
	if _, err := w.cfg.Pool.Exec(ctx, `UPDATE `+s.t("bake_dist_builds")+` SET state = $2, release = $3, result = $4, finished_at = now() WHERE id = $1`,
		id, StateLive, release, report); err != nil {
		return fmt.Errorf("publish build %s: %w", id, err)
	}
	// The manifest lines of older builds of the target are of no more use.
	if _, err := w.cfg.Pool.Exec(ctx, `DELETE FROM `+s.t("bake_dist_entries")+` WHERE build IN (SELECT id FROM `+s.t("bake_dist_builds")+`
		WHERE target = $1 AND id <> $2 AND state IN ($3, $4))`, st.Target, id, StateLive, StateFailed); err != nil {
		log.Warn("manifest lines of older builds not removed", "err", err)
	}
	w.cfg.Metrics.Build("ok")
	log.Info("build published", "release", release, "seconds", time.Since(start).Seconds())
	return nil
}

// publish writes the build's index from its manifest lines and publishes
// it.
func (fw *finishWorker) publish(ctx context.Context, target, id string) (string, []byte, error) {
	w := fw.w
	tmp, err := os.MkdirTemp(w.cfg.TempDir, "bake-publish-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "build")
	if err := fw.writeIndex(ctx, dir, id); err != nil {
		return "", nil, err
	}
	bucket, err := w.bucket(ctx, target)
	if err != nil {
		return "", nil, err
	}
	idx, err := output.OpenIndex(ctx, dir)
	if err != nil {
		return "", nil, err
	}
	defer idx.Close()
	return w.cfg.Publish(ctx, target, dir, stagedSource{ctx: ctx, bucket: bucket, idx: idx, finish: w.cfg.Finish})
}

// writeIndex makes dir a build folder holding only the index of build id,
// from the manifest lines its shards recorded.
func (fw *finishWorker) writeIndex(ctx context.Context, dir, id string) error {
	s := fw.w.store
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
	rows, err := fw.w.cfg.Pool.Query(ctx, `SELECT line FROM `+s.t("bake_dist_entries")+` WHERE build = $1`, id)
	if err != nil {
		iw.Abort()
		return fmt.Errorf("read manifest of build %s: %w", id, err)
	}
	n := 0
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
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		iw.Abort()
		return fmt.Errorf("read manifest of build %s: %w", id, err)
	}
	if err := iw.Commit(ctx, nil); err != nil {
		return err
	}
	if err := stage.Commit(); err != nil {
		return err
	}
	committed = true
	stage.Wait()
	return nil
}

// stagedSource reads the files of a publish, and their precompressed
// siblings, from the staged objects.
type stagedSource struct {
	ctx    context.Context
	bucket *blob.Bucket
	idx    *output.Index // the build's, for the SHA-256 of a sibling's file
	finish build.FinishOptions
}

// Sibling returns the staged sibling of extension ext of the file at key.
func (s stagedSource) Sibling(key, ext string) ([]byte, error) {
	e, ok, err := s.idx.Lookup(s.ctx, bake.PathOf(key))
	if err == nil && !ok {
		err = fmt.Errorf("%s is not in the build", key)
	}
	if err != nil {
		return nil, fmt.Errorf("read staged sibling %s%s: %w", key, ext, err)
	}
	data, err := s.bucket.ReadAll(s.ctx, siblingKey(e.SHA256, s.finish, ext))
	if err != nil {
		return nil, fmt.Errorf("read staged sibling %s%s: %w", key, ext, err)
	}
	return data, nil
}

func (s stagedSource) File(key string, e bake.Entry) ([]byte, error) {
	data, err := s.bucket.ReadAll(s.ctx, StagedKey(e.SHA256))
	if err != nil {
		return nil, fmt.Errorf("read staged %s: %w", key, err)
	}
	return data, nil
}
