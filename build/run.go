package build

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// Changes is what [Run] brings a build up to date with.
type Changes struct {
	// List names what changed since the last build: rows, tables,
	// templates, static files, the configuration (see [bake.Change]). A
	// site that is a [bake.Updater] also finds the templates and static
	// files edited since then by itself, so List may leave them out.
	List []bake.Change
	// Complete reports that List names every row that changed since the
	// last build: change capture recorded them, or the caller knows that
	// no row changed. When it is false and List is empty, rows may have
	// changed unseen, and the build is full.
	Complete bool
	// Full asks for a full build whatever changed.
	Full bool
	// Applied, if set, is called once the changes are in the build folder,
	// and never after a build that failed: change capture deletes the rows
	// it recorded then, so that changes cut short by a crash are applied
	// again by the next run.
	Applied func(ctx context.Context) error
}

// RunOptions configure [Run]: those of every build, and how Run chooses
// between an incremental and a full build.
type RunOptions struct {
	Options
	// BeforeFull, if set, is called once Run has decided on a full build,
	// with the reason (see [RunReport.FullReason]): it may log it, start a
	// progress display, and return the site to render (the command line
	// reopens its SQLite database without a memory map, which a full build
	// reads from end to end); a nil site keeps the one given to Run.
	BeforeFull func(ctx context.Context, reason string) (bake.Site, error)
	// ManyRows is the number of changed rows above which a build is full
	// when they are also more than a quarter of the pages: renaming files
	// one by one into the build costs more than writing a new folder when
	// most pages change. If zero, 2000; negative means never.
	ManyRows int
}

// RunReport describes a finished [Run]: an incremental build (Incremental
// set, with the counts of [UpdateReport]) or a full one (the fields of
// [Report], and FullReason).
type RunReport struct {
	UpdateReport
	// Incremental reports whether the build was incremental.
	Incremental bool `json:"incremental"`
	// FullReason says why the build was full ("" when incremental).
	FullReason string `json:"full_reason,omitempty"`
	// HadBuild reports whether the output held a build before.
	HadBuild bool `json:"-"`
}

// Run is the one entry point that brings the build folder opts.Output up to
// date with changes, for every trigger: bake build, watch and serve, and
// whatever else calls it. It builds incrementally ([Update]) when it can:
// the site is a [bake.Updater], an earlier build is there, the changes are
// known ([Changes.Complete], or named) and touch fewer than a quarter of
// the pages; otherwise, or when the site asks for it ([bake.ErrFullBuild]:
// the configuration changed), it renders every page into a new folder
// ([Build]). It calls changes.Applied only when the build succeeded.
//
// As with Build and Update, a build with problems returns a report listing
// them and an error wrapping [ErrProblems], and leaves the build folder as
// it was.
func Run(ctx context.Context, site bake.Site, changes Changes, opts RunOptions) (*RunReport, error) {
	if opts.Output == "" {
		opts.Output = "_site"
	}
	hadBuild := output.IsBuild(opts.Output)
	reason := fullReason(ctx, site, changes, hadBuild, opts.ManyRows, opts.Output)
	if reason == "" {
		rep, err := Update(ctx, site.(bake.Updater), changes.List, opts.Options)
		switch {
		case errors.Is(err, bake.ErrFullBuild):
			reason = err.Error()
		case rep == nil:
			return nil, err
		default:
			if err == nil && changes.Applied != nil {
				err = changes.Applied(ctx)
			}
			return &RunReport{UpdateReport: *rep, Incremental: true, HadBuild: hadBuild}, err
		}
	}
	if opts.BeforeFull != nil {
		s, err := opts.BeforeFull(ctx, reason)
		if err != nil {
			return nil, err
		}
		if s != nil {
			site = s
		}
	}
	rep, err := Build(ctx, site, opts.Options)
	if rep == nil {
		return nil, err
	}
	if err == nil && changes.Applied != nil {
		err = changes.Applied(ctx)
	}
	return &RunReport{UpdateReport: UpdateReport{Report: *rep}, FullReason: reason, HadBuild: hadBuild}, err
}

// Reasons for a full build that [RunReport.FullReason] gives.
const (
	ReasonAsked     = "a full build was asked for"
	ReasonNoUpdater = "the site cannot update a build in place"
	ReasonNoBuild   = "no earlier build"
	ReasonUnknown   = "no change capture installed and no changes named, so rows may have changed unseen (see bake watch --install)"
	ReasonManyRows  = "the changes touch a large share of the rows"
)

// fullReason says why changes need a full build, or "" when an
// incremental build may serve.
func fullReason(ctx context.Context, site bake.Site, changes Changes, hadBuild bool, manyRows int, out string) string {
	switch _, ok := site.(bake.Updater); {
	case changes.Full:
		return ReasonAsked
	case !ok:
		return ReasonNoUpdater
	case !hadBuild:
		return ReasonNoBuild
	case !changes.Complete && len(changes.List) == 0:
		return ReasonUnknown
	case manyChanges(ctx, out, changes.List, manyRows):
		return ReasonManyRows
	}
	return ""
}

// manyChanges reports whether changes name so many rows (more than
// manyRows, and more than a quarter of the pages of the build in out) that
// a full build is faster than an incremental one.
func manyChanges(ctx context.Context, out string, changes []bake.Change, manyRows int) bool {
	if manyRows == 0 {
		manyRows = 2000
	}
	if manyRows < 0 || len(changes) <= manyRows {
		return false
	}
	n := len(bake.SortChanges(slices.Clone(changes)))
	if n <= manyRows {
		return false
	}
	pages, err := IndexPages(ctx, out)
	return err == nil && n*4 > pages // on an error, the update finds out why, and says so
}

// IndexPages returns the number of pages in the index of the build in out.
func IndexPages(ctx context.Context, out string) (int, error) {
	idx, err := output.OpenIndex(ctx, out)
	if err != nil {
		return 0, fmt.Errorf("count pages: %w", err)
	}
	defer idx.Close()
	return idx.Count(ctx)
}
