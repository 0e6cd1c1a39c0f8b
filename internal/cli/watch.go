package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bakehq/bake/capture"
	"github.com/bakehq/bake/sqlsite"
	"github.com/spf13/cobra"
)

type watchFlags struct {
	install   bool
	uninstall bool
	debounce  time.Duration
	poll      time.Duration
	output    string
	workers   int
}

func watchCmd(g *globals) *cobra.Command {
	var f watchFlags
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Capture row changes, and rebuild the pages they touch as they happen",
		Long: `Watch keeps the build folder up to date with the database.

bake watch --install adds change capture to the database: on every table the
site's queries read, AFTER INSERT, UPDATE and DELETE triggers record the
table, the row's primary key, the operation and the changed columns into a
bake_changes table (PostgreSQL also sends a NOTIFY on channel bake_changes).
Nothing else in your schema is touched; bake watch --uninstall removes the
triggers and the table. Run --install again after adding a table or route.

Once capture is installed, every bake build is incremental: it consumes the
pending changes and re-renders only the pages that read those rows.

bake watch (without flags) does that continuously: it waits for changes
(LISTEN on PostgreSQL, polling on SQLite), waits --debounce more so that a
burst of writes makes one build, runs an incremental build, and repeats,
until Ctrl-C. Edits to templates, static files and bake.toml are picked up
too, through the file system's events (polled every --poll where there are
none).`,
		Example: `  bake watch --install            # once: add the triggers
  bake watch                      # rebuild on every change, until Ctrl-C
  bake watch --debounce 2s        # batch changes arriving within 2 seconds
  bake watch --uninstall          # remove the triggers and bake_changes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWatch(cmd.Context(), g, f)
		},
	}
	cmd.Flags().BoolVar(&f.install, "install", false, "install change capture (triggers and the bake_changes table) and exit")
	cmd.Flags().BoolVar(&f.uninstall, "uninstall", false, "remove change capture and exit")
	cmd.Flags().DurationVar(&f.debounce, "debounce", 250*time.Millisecond, "after a change, wait this long for more before building")
	cmd.Flags().DurationVar(&f.poll, "poll", time.Second, "how often to look for row changes on SQLite, and for file edits where the file system gives no events")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "build folder (default: [site] output of bake.toml, _site)")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "pages rendered at once (default: number of CPUs)")
	cmd.MarkFlagsMutuallyExclusive("install", "uninstall")
	return cmd
}

func runWatch(ctx context.Context, g *globals, f watchFlags) error {
	site, err := openSite(ctx, g.dir, 1)
	if err != nil {
		return reportSetupError(g, false, err)
	}
	defer site.Close()
	db, done, err := site.writable(ctx)
	if err != nil {
		return err
	}
	defer done()
	switch {
	case f.install:
		tables := site.site.Tables()
		if err := capture.Install(ctx, db, site.dialect, tables); err != nil {
			return fmt.Errorf("%w\n(the tables come from the queries of %s; a name there that is not a table, such as a view, cannot be watched)", err, sqlsite.ConfigFile)
		}
		fmt.Fprintf(g.stdio.Out, "change capture installed on %s; changes are recorded in %s\n", strings.Join(tables, ", "), capture.Table)
		return nil
	case f.uninstall:
		if err := capture.Uninstall(ctx, db, site.dialect); err != nil {
			return err
		}
		fmt.Fprintln(g.stdio.Out, "change capture removed")
		return nil
	}
	tables, err := capture.Installed(ctx, db, site.dialect)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return errors.New("watch: no change capture in the database: run bake watch --install first")
	}
	log := g.logger()
	log.Info("watching", "tables", strings.Join(tables, ","), "debounce", f.debounce)
	out := site.output()
	if f.output != "" {
		out = f.output
	}
	w, err := newSiteWatcher(ctx, g.dir, site.cfg, out, f.poll, log, f.debounce)
	if err != nil {
		return err
	}
	defer w.Close()
	bf := buildFlags{output: f.output, workers: f.workers, quiet: false}
	var backoff time.Duration // wait before retrying a build that failed for another reason than its pages
	for {
		var retry <-chan time.Time
		if err := runBuild(ctx, g, bf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A failed build changes nothing and consumes nothing. Pages
			// that fail (reported already) wait for the next change, which
			// may fix them; anything else (a database busy or gone) is
			// tried again, ever less often.
			var ee exitError
			if !errors.As(err, &ee) {
				backoff = min(max(2*backoff, time.Second), 30*time.Second)
				retry = time.After(backoff)
				fmt.Fprintf(g.stdio.Err, "bake: %v (trying again in %s)\n", err, backoff)
			}
		} else {
			backoff = 0
		}
		wctx, cancel := context.WithCancel(ctx)
		if retry != nil {
			go func() {
				select {
				case <-retry:
					cancel()
				case <-wctx.Done():
				}
			}()
		}
		ev, err := w.Next(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			log.Debug("changed", "what", ev.String())
		}
	}
}
