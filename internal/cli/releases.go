package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/bakehq/bake/distbuild"
	"github.com/bakehq/bake/publish"
	"github.com/spf13/cobra"
)

func releasesCmd(g *globals) *cobra.Command {
	var to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "releases",
		Short: "List the publishes recorded in the target",
		Long: `Releases lists every publish recorded in the target (oldest first): its ID,
time, git commit of the site folder, files live, uploads and deletes.
bake rollback ID puts one back.`,
		Example: `  bake releases --to /srv/www
  bake releases --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := openTarget(cmd.Context(), g, to)
			if err != nil {
				return err
			}
			defer t.bucket.Close()
			rels, err := publish.Releases(cmd.Context(), t.bucket)
			if err != nil {
				return err
			}
			if asJSON {
				if rels == nil {
					rels = []publish.Release{}
				}
				enc := json.NewEncoder(g.stdio.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(rels)
			}
			if len(rels) == 0 {
				fmt.Fprintf(g.stdio.Out, "no releases in %s yet; bake publish records one\n", t.name)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RELEASE\tTIME\tCOMMIT\tFILES\tUPLOADED\tDELETED\tNOTE")
			for _, r := range rels {
				note := ""
				if r.RollbackOf != "" {
					note = "rollback to " + r.RollbackOf
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.Time.Format("2006-01-02 15:04:05Z"), r.Commit, r.Files, r.Uploaded, r.Deleted, note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "target bucket URL or folder (default: [publish] url of bake.toml)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the releases as JSON")
	return cmd
}

func rollbackCmd(g *globals) *cobra.Command {
	var f publishFlags
	cmd := &cobra.Command{
		Use:   "rollback RELEASE",
		Short: "Put an earlier release back live, without rebuilding",
		Long: `Rollback publishes the files of an earlier release again, by the same diff
and in the same safe order as bake publish: only what differs from what is
live now is uploaded or deleted. The files come from .bake/objects in the
site folder, where bake publish keeps every file it sent; those of a release
made by bake build --distributed, which never passed through this machine, come
from the bucket, where its workers staged them (.bake/staged/), copied
server-side. Every file is found before anything is written. The rollback is
recorded as a release of its own.`,
		Example: `  bake releases
  bake rollback 20261122-064900-a1b2c3 --dry-run
  bake rollback 20261122-064900-a1b2c3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRollback(cmd.Context(), g, f, args[0])
		},
	}
	planFlags(cmd, &f)
	return cmd
}

func runRollback(ctx context.Context, g *globals, f publishFlags, id string) error {
	t, err := openTarget(ctx, g, f.to)
	if err != nil {
		return err
	}
	defer t.bucket.Close()
	opts := publish.DiffOptions{MaxDeletes: t.cfg.Publish.MaxDeletes, Force: f.force}
	rules, err := t.headerRules(ctx, &opts)
	if err != nil {
		return err
	}
	// A release of a distributed build: its files are staged in the
	// bucket, not in this site folder's store.
	staged := distbuild.Staged{Ctx: ctx, Bucket: t.bucket, Workers: t.cfg.Publish.Workers}
	plan, src, resume, diffErr := publish.PrepareRollback(ctx, t.bucket, id, t.store, staged, opts)
	if plan == nil {
		return diffErr
	}
	defer plan.Close()
	report := map[string]any{"target": t.name, "plan": plan, "dry_run": f.dryRun, "rollback_to": id}
	ao := publish.ApplyOptions{From: src, Resume: resume,
		Release: publish.Release{RollbackOf: id, Commit: gitCommit(g.dir)}, HeaderRules: rules}
	if _, local := src.(publish.StoreSource); !local {
		// Their published forms are copied server-side.
		ao.Copy = staged
	}
	return t.run(ctx, g, f, plan, diffErr, report, ao)
}
