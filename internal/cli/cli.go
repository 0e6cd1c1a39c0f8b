// Package cli implements the bake command: it reads bake.toml into the
// library structs, opens database drivers, sets up logging and progress,
// and runs the build, serve, new and bench subcommands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// Stdio is where a command reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// globals are the flags every command takes.
type globals struct {
	dir     string
	verbose bool
	cpuprof string
	stdio   Stdio

	stopProfile func() // set while a CPU profile is written
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stdio.Err, &slog.HandlerOptions{Level: level}))
}

// Run runs the bake command line and returns the exit code.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	g := &globals{stdio: stdio}
	root := &cobra.Command{
		Use:   "bake",
		Short: "Publish database-backed websites as flat files",
		Long: `bake renders every page of a database-backed site once, into plain files,
and keeps them up to date: a site is bake.toml (routes: a SQL query and a
template each), templates/, static/ and a database (SQLite by default, or
PostgreSQL).

Start with:
  bake new mysite && cd mysite
  bake build          # render the site into _site/
  bake serve          # preview it on http://127.0.0.1:8000

The bake.toml reference is docs/config.md in the bake repository.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.PersistentFlags().StringVarP(&g.dir, "dir", "C", ".", "the site folder (where bake.toml is)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log debug details")
	root.PersistentFlags().StringVar(&g.cpuprof, "cpuprofile", "", "write a CPU profile of the command to `FILE` (go tool pprof reads it)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.cpuprof == "" {
			return nil
		}
		pf, err := os.Create(g.cpuprof)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return fmt.Errorf("cpu profile: %w", err)
		}
		g.stopProfile = func() { pprof.StopCPUProfile(); pf.Close() }
		return nil
	}
	root.AddCommand(buildCmd(g), serveCmd(g), publishCmd(g), releasesCmd(g), rollbackCmd(g), pruneCmd(g), manifestCmd(g), newCmd(g), benchCmd(g), watchCmd(g), runCmd(g), enqueueCmd(g), workerCmd(g), removeOldCmd())
	root.AddCommand(proxyCmd(g), purgeCmd(g), warmCmd(g), crawlCmd(g))
	cmd, err := root.ExecuteContextC(ctx)
	if g.stopProfile != nil {
		g.stopProfile()
	}
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stdio.Err, "bake: %v\n", err)
	if h := hintFor(cmd, err); h != "" {
		fmt.Fprintln(stdio.Err, h)
	}
	if ctx.Err() != nil {
		return 130
	}
	return 1
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
