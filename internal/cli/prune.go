package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/publish"
	"github.com/spf13/cobra"
	"gocloud.dev/blob"
)

type pruneFlags struct {
	to     []string
	keep   int
	dryRun bool
	json   bool
	// stagedGrace: see publish.PruneOptions.StagedGrace.
	stagedGrace time.Duration
}

func pruneCmd(g *globals) *cobra.Command {
	var f pruneFlags
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Forget old releases and the stored files only they used",
		Long: `Prune keeps the newest --keep releases of each target, and removes the older
release records from the target and, from .bake/objects in the site folder, every
file that no kept release (nor what is live) uses. bake rollback can put back
any release bake releases still lists.

The files in .bake/objects serve every target published from this site folder:
name them all with --to (the default is [publish] url of bake.toml), or a
rollback of a target left out may find files missing.

In each target, it also removes the files distributed builds staged under
.bake/staged/ (see bake build --distributed) that no kept release uses, once
they are older than --staged-grace (a build running now may rely on newer ones;
its workers stage again any file older than an hour).`,
		Example: `  bake prune --dry-run
  bake prune --keep 20
  bake prune --to s3://site-prod?region=eu-west-1 --to s3://site-staging?region=eu-west-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPrune(cmd.Context(), g, f)
		},
	}
	cmd.Flags().StringArrayVar(&f.to, "to", nil, "a target bucket URL or folder; repeat for each (default: [publish] url of bake.toml)")
	cmd.Flags().IntVar(&f.keep, "keep", 10, "releases to keep in each target, the newest")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "say what would be removed, remove nothing")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	cmd.Flags().DurationVar(&f.stagedGrace, "staged-grace", publish.StagedGrace, "keep files staged by distributed builds this recently, though no kept release uses them")
	return cmd
}

func runPrune(ctx context.Context, g *globals, f pruneFlags) error {
	if f.keep < 1 {
		return fmt.Errorf("--keep %d: keep at least 1 release, the live one", f.keep)
	}
	names := f.to
	if len(names) == 0 {
		names = []string{""} // [publish] url
	}
	var buckets []*blob.Bucket
	var shown []string
	for _, name := range names {
		t, err := openTarget(ctx, g, name)
		if err != nil {
			return err
		}
		defer t.bucket.Close()
		buckets = append(buckets, t.bucket)
		shown = append(shown, t.name)
	}
	store := &publish.Store{Dir: filepath.Join(g.dir, bake.ReservedDir, "objects")}
	if f.stagedGrace <= 0 {
		return fmt.Errorf("--staged-grace %s: give a positive duration, longer than any distributed build takes", f.stagedGrace)
	}
	res, err := publish.Prune(ctx, store, buckets, publish.PruneOptions{Keep: f.keep, DryRun: f.dryRun, StagedGrace: f.stagedGrace})
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(g.stdio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"targets": shown, "dry_run": f.dryRun, "result": res})
	}
	verb := "removed"
	if f.dryRun {
		verb = "would remove"
	}
	fmt.Fprintf(g.stdio.Out, "%s %d releases (%d kept), %d stored files, %s (%d kept), and %d manifest parts (%d kept)",
		verb, res.Releases, res.KeptReleases, res.Objects, humanBytes(res.Bytes), res.KeptObjects, res.Parts, res.KeptParts)
	if res.Retained+res.KeptRetained > 0 {
		fmt.Fprintf(g.stdio.Out, "; %d old fingerprinted files (%d kept for releases that use them)", res.Retained, res.KeptRetained)
	}
	if res.Staged+res.KeptStaged > 0 {
		fmt.Fprintf(g.stdio.Out, "; %d files staged by distributed builds, %s (%d kept for releases that use them or staged in the last %s)",
			res.Staged, humanBytes(res.StagedBytes), res.KeptStaged, f.stagedGrace)
	}
	fmt.Fprintln(g.stdio.Out)
	return nil
}
