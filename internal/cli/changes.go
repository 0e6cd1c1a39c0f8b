package cli

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/capture"
	"github.com/bakehq/bake/sqlsite"
)

// pendingSet is what change capture has recorded since the last build.
type pendingSet struct {
	installed bool          // change capture is installed on some table
	ids       []int64       // the recorded changes, to consume after the build
	changes   []bake.Change // the same, as the build sees them
}

// pendingChanges reads the changes recorded by bake's triggers, if any are
// installed.
func (o *openedSite) pendingChanges(ctx context.Context) (pendingSet, error) {
	var p pendingSet
	tables, err := capture.Installed(ctx, o.db, o.dialect)
	if err != nil {
		return p, fmt.Errorf("read pending changes: %w", err)
	}
	if len(tables) == 0 {
		return p, nil
	}
	p.installed = true
	cs, err := capture.Pending(ctx, o.db, o.dialect, 0)
	if err != nil {
		return p, fmt.Errorf("read pending changes: %w", err)
	}
	for _, c := range cs {
		p.ids = append(p.ids, c.ID)
		p.changes = append(p.changes, bake.Change{Dep: bake.RowDep(c.Table, c.Key), Op: c.Op, Columns: c.Columns})
	}
	return p, nil
}

// consume deletes processed changes. On SQLite the site's connection is
// read-only, so a short-lived writable one is opened.
func (o *openedSite) consume(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	db, done, err := o.writable(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := capture.Consume(ctx, db, o.dialect, ids); err != nil {
		return fmt.Errorf("consume changes: %w", err)
	}
	return nil
}

// writable returns a connection that may write to the site's database.
func (o *openedSite) writable(ctx context.Context) (*sql.DB, func(), error) {
	if o.dialect != sqlsite.SQLite {
		return o.db, func() {}, nil
	}
	u, err := databaseURL(o.cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	db, err := sql.Open("sqlite", "file:"+sqlitePath(o.dir, u)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	return db, func() { db.Close() }, nil
}
