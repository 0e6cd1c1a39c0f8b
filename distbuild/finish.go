package distbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/publish"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
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
	// The copies of an earlier try are of no more use: this try plans
	// the publish again.
	if _, err := w.cfg.Pool.Exec(ctx, `DELETE FROM `+s.t("bake_dist_copies")+` WHERE build = $1`, id); err != nil {
		return fmt.Errorf("publish build %s: %w", id, err)
	}
	release, report, err := fw.publish(ctx, st.Target, id, job)
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
	if _, err := w.cfg.Pool.Exec(ctx, `DELETE FROM `+s.t("bake_dist_copies")+` WHERE build = $1`, id); err != nil {
		log.Warn("the build's list of copies not removed", "err", err)
	}
	w.cfg.Metrics.Build("ok")
	log.Info("build published", "release", release, "seconds", time.Since(start).Seconds())
	// The changes change capture recorded before the build was planned
	// are in it now. Should this fail, the next build applies them again,
	// which changes nothing.
	var capture []byte
	if err := w.cfg.Pool.QueryRow(ctx, `SELECT capture FROM `+s.t("bake_dist_builds")+` WHERE id = $1`, id).Scan(&capture); err != nil {
		log.Warn("captured changes not consumed", "err", err)
	} else if ids := []int64{}; capture != nil && w.cfg.Consume != nil && json.Unmarshal(capture, &ids) == nil && len(ids) > 0 {
		if err := w.cfg.Consume(ctx, ids); err != nil {
			log.Warn("captured changes not consumed", "err", err)
		}
	}
	return nil
}

// publish writes the build's index from its manifest lines and publishes
// it, the files coming from the staged objects: copied server-side, spread
// over the workers, those staged in their published form (see
// stagedCopier).
func (fw *finishWorker) publish(ctx context.Context, target, id string, job *river.Job[FinishArgs]) (string, []byte, error) {
	w := fw.w
	tmp, err := os.MkdirTemp(w.cfg.TempDir, "bake-publish-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "build")
	s := w.store
	t0 := time.Now()
	if err := s.mergeUpdate(ctx, w.cfg.Pool, id); err != nil {
		return "", nil, err
	}
	t1 := time.Now()
	values, err := s.shardValues(ctx, w.cfg.Pool, id, w.cfg.Finish)
	if err != nil {
		return "", nil, err
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return "", nil, err
	}
	if _, err := w.cfg.Pool.Exec(ctx, `UPDATE `+s.t("bake_dist_builds")+` SET index_values = $2 WHERE id = $1`, id, string(raw)); err != nil {
		return "", nil, fmt.Errorf("record values of build %s: %w", id, err)
	}
	if err := s.index(ctx, w.cfg.Pool, w.cfg.Indexes, dir, id); err != nil {
		return "", nil, err
	}
	t2 := time.Now()
	defer func() {
		w.cfg.Logger.Info("publish phases", "build", id, "merge_s", t1.Sub(t0).Seconds(), "index_s", t2.Sub(t1).Seconds(), "publish_s", time.Since(t2).Seconds())
	}()
	bucket, err := w.bucket(ctx, target)
	if err != nil {
		return "", nil, err
	}
	idx, err := output.OpenIndex(ctx, dir)
	if err != nil {
		return "", nil, err
	}
	defer idx.Close()
	src := &stagedCopier{stagedSource: stagedSource{ctx: ctx, bucket: bucket, idx: idx, finish: w.cfg.Finish},
		w: w, build: id, target: target, job: job.ID, try: job.Attempt}
	if w.cfg.Forms != nil {
		_, src.forms = w.cfg.Forms(target)
	}
	return w.cfg.Publish(ctx, target, dir, src)
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

// File returns the staged file of e (see Staged.File).
func (s stagedSource) File(key string, e bake.Entry) ([]byte, error) {
	return Staged{Ctx: s.ctx, Bucket: s.bucket}.File(key, e)
}

// stagedCopier is the source of a distributed build's publish that also
// copies the files staged in their published form to their keys,
// server-side, spread over the workers: Copy writes the copies in parts
// to PostgreSQL (bake_dist_copies), enqueues a job for each part, and
// copies parts itself too, until every part is done. Whoever claims a
// part (a row lock, FOR UPDATE SKIP LOCKED, held while it copies) copies
// it; the lock of a worker that dies goes with its connection, and the
// part is claimed again. Copies are idempotent: a part copied twice
// writes the same objects.
type stagedCopier struct {
	stagedSource
	w      *Worker
	build  string
	target string
	job    int64
	try    int
	runs   int
	forms  bool // the files were staged in their published form
}

// Staged returns the key of the staged published form of the file of c.
func (sc *stagedCopier) Staged(c publish.Change, wo *blob.WriterOptions) string {
	if !sc.forms {
		return ""
	}
	return formKey(c.Entry.SHA256, publish.FormDigest(wo))
}

// Copy copies every copy, in parts over the workers, and returns the
// keys whose staged form is missing.
func (sc *stagedCopier) Copy(ctx context.Context, copies iter.Seq2[publish.StagedCopy, error]) ([]string, error) {
	w := sc.w
	s := w.store
	sc.runs++
	run := fmt.Sprintf("%d.%d.%d", sc.job, sc.try, sc.runs)
	var rows [][]any
	var part [][2]string
	flush := func() error {
		data, err := json.Marshal(part)
		if err != nil {
			return err
		}
		rows = append(rows, []any{sc.build, run, len(rows), string(data)})
		part = part[:0]
		return nil
	}
	for c, err := range copies {
		if err != nil {
			return nil, err
		}
		part = append(part, [2]string{c.From, c.To})
		if len(part) == w.cfg.CopyPart {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(part) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	start := time.Now()
	tx, err := w.cfg.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.name, "bake_dist_copies"}, []string{"build", "run", "part", "copies"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	params := make([]river.InsertManyParams, len(rows))
	for i := range rows {
		params[i] = river.InsertManyParams{Args: CopyArgs{Build: sc.build, Target: sc.target, Run: run, Part: i}}
	}
	if _, err := w.client.InsertManyFastTx(ctx, tx, params); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	// Copy parts too, from the last: the other workers take them from
	// the first.
	mine := 0
	for {
		var undone []int
		r, err := w.cfg.Pool.Query(ctx, `SELECT part FROM `+s.t("bake_dist_copies")+` WHERE build = $1 AND run = $2 AND NOT done ORDER BY part DESC`, sc.build, run)
		if err == nil {
			undone, err = pgx.CollectRows(r, pgx.RowTo[int])
		}
		if err != nil {
			return nil, fmt.Errorf("copy: %w", err)
		}
		if len(undone) == 0 {
			break
		}
		progress := false
		for _, p := range undone {
			ok, err := w.copyPart(ctx, sc.build, sc.target, run, p)
			if err != nil {
				return nil, err
			}
			if ok {
				mine++
				progress = true
			}
		}
		if !progress {
			// Parts other workers copy: wait for them.
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	r, err := w.cfg.Pool.Query(ctx, `SELECT missing FROM `+s.t("bake_dist_copies")+` WHERE build = $1 AND run = $2 AND missing <> ''`, sc.build, run)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	lists, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	var missing []string
	for _, l := range lists {
		var keys []string
		if err := json.Unmarshal([]byte(l), &keys); err != nil {
			return nil, fmt.Errorf("copy: %w", err)
		}
		missing = append(missing, keys...)
	}
	w.cfg.Logger.Info("copied server-side", "build", sc.build, "run", run, "parts", len(rows), "parts_here", mine, "missing", len(missing), "seconds", time.Since(start).Seconds())
	return missing, nil
}

type copyWorker struct {
	river.WorkerDefaults[CopyArgs]
	w *Worker
}

// Work copies the job's part, unless another worker copies or copied it.
func (cw *copyWorker) Work(ctx context.Context, job *river.Job[CopyArgs]) error {
	a := job.Args
	_, err := cw.w.copyPart(ctx, a.Build, a.Target, a.Run, a.Part)
	return err
}

// copyPart claims part of run of build, unless another worker holds it or
// it is done (or gone: a try of the finishing job that is over), and
// copies it, with cfg.Uploads copies at once. It reports whether the part
// is done.
func (w *Worker) copyPart(ctx context.Context, build, target, run string, part int) (bool, error) {
	s := w.store
	start := time.Now()
	tx, err := w.cfg.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("copy: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var data string
	var done bool
	err = tx.QueryRow(ctx, `SELECT copies, done FROM `+s.t("bake_dist_copies")+` WHERE build = $1 AND run = $2 AND part = $3 FOR UPDATE SKIP LOCKED`,
		build, run, part).Scan(&data, &done)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil || done {
		return done, err
	}
	var copies [][2]string
	if err := json.Unmarshal([]byte(data), &copies); err != nil {
		return false, fmt.Errorf("copy part %d: %w", part, err)
	}
	bucket, err := w.bucket(ctx, target)
	if err != nil {
		return false, err
	}
	missing, err := copyAll(ctx, bucket, copies, w.cfg.Uploads)
	if err != nil {
		return false, fmt.Errorf("copy part %d: %w", part, err)
	}
	list := ""
	if len(missing) > 0 {
		b, _ := json.Marshal(missing)
		list = string(b)
	}
	if _, err := tx.Exec(ctx, `UPDATE `+s.t("bake_dist_copies")+` SET done = true, missing = $4, worker = $5, seconds = $6 WHERE build = $1 AND run = $2 AND part = $3`,
		build, run, part, list, w.cfg.Name, time.Since(start).Seconds()); err != nil {
		return false, fmt.Errorf("copy part %d: %w", part, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("copy part %d: %w", part, err)
	}
	w.cfg.Metrics.Copies(len(copies)-len(missing), len(missing))
	return true, nil
}

// copyAll copies each pair's first key to its second, n at once, with
// retries, and returns the second keys of the pairs whose first is
// missing.
func copyAll(ctx context.Context, bucket *blob.Bucket, copies [][2]string, n int) ([]string, error) {
	var (
		mu      sync.Mutex
		missing []string
	)
	err := forEach(ctx, n, copies, func(ctx context.Context, c [2]string) error {
		err := copyOne(ctx, bucket, c[1], c[0])
		if gcerrors.Code(err) == gcerrors.NotFound {
			mu.Lock()
			missing = append(missing, c[1])
			mu.Unlock()
			return nil
		}
		if err != nil {
			return fmt.Errorf("copy %s to %s: %w", c[0], c[1], err)
		}
		return nil
	})
	return missing, err
}

// copyOne copies from to key, server-side, with retries; a missing from
// is returned at once.
func copyOne(ctx context.Context, bucket *blob.Bucket, key, from string) error {
	return withRetries(ctx, func(ctx context.Context) (bool, error) {
		err := bucket.Copy(ctx, key, from, nil)
		return gcerrors.Code(err) == gcerrors.NotFound, err
	})
}
