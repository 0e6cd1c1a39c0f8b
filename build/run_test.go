package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
)

// TestRunChoosesTheBuild: Run builds incrementally only when it can, says
// why otherwise, and reports the changes applied only after a success.
func TestRunChoosesTheBuild(t *testing.T) {
	rows := func(n int) []bake.Change {
		var cs []bake.Change
		for i := range n {
			cs = append(cs, bake.Change{Dep: bake.RowDep("items", fmt.Sprint(i))})
		}
		return cs
	}
	tests := []struct {
		name       string
		plain      bool // a bake.Site that is not an Updater
		noBuild    bool // no earlier build
		changes    Changes
		manyRows   int
		fail       bool // the incremental pass has a problem
		wantReason string
	}{
		{name: "named changes", changes: Changes{List: rows(1)}},
		{name: "capture with nothing pending", changes: Changes{Complete: true}},
		{name: "first build", noBuild: true, changes: Changes{Complete: true}, wantReason: ReasonNoBuild},
		{name: "asked for", changes: Changes{Complete: true, Full: true}, wantReason: ReasonAsked},
		{name: "rows unknown", changes: Changes{}, wantReason: ReasonUnknown},
		{name: "not an updater", plain: true, changes: Changes{Complete: true}, wantReason: ReasonNoUpdater},
		{name: "many rows", changes: Changes{List: rows(5)}, manyRows: 2, wantReason: ReasonManyRows},
		{name: "many rows, few of the pages", changes: Changes{List: rows(2)}, manyRows: 1},
		{name: "site asks", changes: Changes{List: []bake.Change{{Dep: bake.Dep("config:bake.toml")}}}, wantReason: "a full build is needed: config changed"},
		{name: "problem", changes: Changes{Complete: true}, fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			out := filepath.Join(t.TempDir(), "_site")
			var pages []*bake.Page
			for i := range 10 {
				pages = append(pages, &bake.Page{Path: fmt.Sprintf("/%d/", i), Render: text("v1")})
			}
			site := &runSite{updateSite: updateSite{fakeSite: fakeSite{pages: pages}}}
			if !tt.noBuild {
				if _, err := Build(ctx, site, Options{Output: out}); err != nil {
					t.Fatal(err)
				}
			}
			site.update = []*bake.Page{{Path: "/0/", Render: text("v2")}}
			if tt.fail {
				site.update[0].Render = func(context.Context, io.Writer) error { return errors.New("boom") }
			}
			applied := 0
			tt.changes.Applied = func(context.Context) error { applied++; return nil }
			var s bake.Site = site
			if tt.plain {
				s = &site.fakeSite
			}
			var before string
			rep, err := Run(ctx, s, tt.changes, RunOptions{Options: Options{Output: out}, ManyRows: tt.manyRows,
				BeforeFull: func(ctx context.Context, reason string) (bake.Site, error) { before = reason; return nil, nil }})
			if tt.fail {
				if !errors.Is(err, ErrProblems) || applied != 0 {
					t.Fatalf("Run = %v, applied %d times; want problems, never applied", err, applied)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Incremental != (tt.wantReason == "") || rep.FullReason != tt.wantReason || before != tt.wantReason {
				t.Errorf("incremental %v, reason %q (BeforeFull got %q); want reason %q", rep.Incremental, rep.FullReason, before, tt.wantReason)
			}
			if applied != 1 {
				t.Errorf("Applied called %d times, want 1", applied)
			}
		})
	}
}

// runSite is an updateSite that asks for a full build when the
// configuration changed, as sqlsite does.
type runSite struct{ updateSite }

func (s *runSite) Update(ctx context.Context, prev bake.Index, changes []bake.Change) iter.Seq2[*bake.Page, error] {
	for _, c := range changes {
		if c.Dep.Kind() == bake.KindConfig {
			return func(yield func(*bake.Page, error) bool) {
				yield(nil, fmt.Errorf("%w: config changed", bake.ErrFullBuild))
			}
		}
	}
	return s.updateSite.Update(ctx, prev, changes)
}
