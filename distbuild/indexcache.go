package distbuild

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IndexCache keeps, on this machine, the indexes of the builds an update
// started from or made, so that the next part, planner or finishing job
// does not read every manifest line of a build from PostgreSQL again: a
// build whose base is kept is made from the base's index and its own
// lines (what its parts put and removed), which is what an update
// changed. Each index is a build folder holding only its index, at
// Dir/BUILD.
type IndexCache struct {
	Dir  string // if empty, none: every index is read from PostgreSQL
	Keep int    // builds kept, the most recently made; if 0, 4

	mu sync.Mutex
}

// index writes into dir, a build folder not yet made, the index of build
// id (live, or with every part recorded): a copy of the one kept, made
// from its base's if need be; without a cache, from PostgreSQL.
func (s store) index(ctx context.Context, pool *pgxpool.Pool, c *IndexCache, dir, id string) error {
	if c == nil || c.Dir == "" {
		return s.indexFromLines(ctx, pool, dir, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := filepath.Join(c.Dir, id)
	if _, err := os.Stat(kept); err != nil {
		if err := s.keep(ctx, pool, c, id, 3); err != nil {
			return err
		}
	}
	if err := os.CopyFS(dir, os.DirFS(kept)); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("copy the index of build %s: %w", id, err)
	}
	return nil
}

// indexFromLines writes into dir the index of build id from its manifest
// lines and values in PostgreSQL.
func (s store) indexFromLines(ctx context.Context, pool *pgxpool.Pool, dir, id string) error {
	values, err := s.indexValues(ctx, pool, id)
	if err != nil {
		return err
	}
	return s.writeIndex(ctx, pool, dir, id, values)
}

// keep makes the kept index of build id: from the kept index of its base
// (made first, depth builds back at most) and its own lines, or else from
// all its lines; then forgets the oldest indexes past c.Keep.
func (s store) keep(ctx context.Context, pool *pgxpool.Pool, c *IndexCache, id string, depth int) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	tmp := filepath.Join(c.Dir, ".new-"+id)
	os.RemoveAll(tmp)
	var base string
	if err := pool.QueryRow(ctx, `SELECT base FROM `+s.t("bake_dist_builds")+` WHERE id = $1`, id).Scan(&base); err != nil {
		return fmt.Errorf("index of build %s: %w", id, err)
	}
	made := false
	if base != "" && depth > 0 {
		baseKept := filepath.Join(c.Dir, base)
		if _, err := os.Stat(baseKept); err != nil && depth > 1 {
			s.keep(ctx, pool, c, base, depth-1) // else from the lines
		}
		if _, err := os.Stat(baseKept); err == nil {
			err := os.CopyFS(tmp, os.DirFS(baseKept))
			if err == nil {
				err = s.applyOwnLines(ctx, pool, tmp, id)
			}
			made = err == nil
			if !made {
				os.RemoveAll(tmp)
			}
		}
	}
	if !made {
		if err := s.indexFromLines(ctx, pool, tmp, id); err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, filepath.Join(c.Dir, id)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("index cache: %w", err)
	}
	c.forget()
	return nil
}

// applyOwnLines brings the index in dir, its base's, to update id's: the
// lines its parts put, less the paths they removed, with its values.
func (s store) applyOwnLines(ctx context.Context, pool *pgxpool.Pool, dir, id string) error {
	values, err := s.indexValues(ctx, pool, id)
	if err != nil {
		return err
	}
	u := output.Update{Values: values}
	rows, err := pool.Query(ctx, `SELECT path, line FROM `+s.t("bake_dist_entries")+` WHERE build = $1 AND shard >= 0`, id)
	if err != nil {
		return fmt.Errorf("read the lines of update %s: %w", id, err)
	}
	for rows.Next() {
		var path, line string
		if err := rows.Scan(&path, &line); err != nil {
			rows.Close()
			return fmt.Errorf("read the lines of update %s: %w", id, err)
		}
		if line == "" {
			u.Remove = append(u.Remove, path)
			continue
		}
		var e bake.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			rows.Close()
			return fmt.Errorf("read the lines of update %s: %w", id, err)
		}
		u.Put = append(u.Put, output.Record{Entry: e, Line: []byte(line)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the lines of update %s: %w", id, err)
	}
	idx, err := output.OpenIndex(ctx, dir)
	if err != nil {
		return err
	}
	defer idx.Close()
	if err := idx.Apply(ctx, u); err != nil {
		return err
	}
	// Apply notes the removed paths for their files to go: there are none.
	trash, err := idx.Trash(ctx)
	if err == nil {
		err = idx.EmptyTrash(ctx, trash)
	}
	return err
}

// forget removes the kept indexes past c.Keep, the oldest first.
func (c *IndexCache) forget() {
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	type kept struct {
		name string
		mod  int64
	}
	var all []kept
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			if strings.HasPrefix(e.Name(), "._") {
				os.Remove(filepath.Join(c.Dir, e.Name())) // a build folder's lock
			}
			continue
		}
		if fi, err := e.Info(); err == nil {
			all = append(all, kept{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	slices.SortFunc(all, func(a, b kept) int { return cmp.Compare(b.mod, a.mod) })
	for _, k := range all[min(len(all), cmp.Or(c.Keep, 4)):] {
		os.RemoveAll(filepath.Join(c.Dir, k.name))
	}
}
