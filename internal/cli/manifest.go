package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/bakehq/bake/output"
	"github.com/spf13/cobra"
)

func manifestCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "Print the build's manifest: every file with its hash, type and deps",
		Long: `Manifest prints the manifest of the build folder (default _site) as JSON
lines on stdout: a header line, then one line a file, sorted by path, with
its URL path, SHA-256, size, content type, the route and row that made it,
and its deps (what the page read: rows, queries, templates, assets).

The build keeps its manifest in its index (.bake/index.db, an SQLite file
that incremental builds update in place); this prints it in the format bake
publish stores in the target.`,
		Example: `  bake manifest
  bake manifest -C examples/newsroom | grep '"path":"/about/"'
  bake manifest -o /tmp/site | tail -n +2 | jq -r .path   # every path
  bake manifest | grep -c 'row:items/42'                 # pages that read row 42 of items`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runManifest(cmd.Context(), g, out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "build folder (default: [site] output of bake.toml, _site)")
	return cmd
}

func runManifest(ctx context.Context, g *globals, out string) error {
	if out == "" {
		cfg, err := loadConfig(g.dir)
		if err != nil {
			return reportSetupError(g, false, err)
		}
		out = cfg.Site.Output
		if !filepath.IsAbs(out) {
			out = filepath.Join(g.dir, out)
		}
	}
	idx, err := output.OpenIndex(ctx, out)
	if errors.Is(err, output.ErrNoIndex) {
		return fmt.Errorf("no build in %s: run bake build first", out)
	}
	if err != nil {
		return err
	}
	defer idx.Close()
	w := bufio.NewWriterSize(g.stdio.Out, 64<<10)
	if err := idx.WriteManifest(ctx, w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}
