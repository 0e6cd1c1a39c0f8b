package cli

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

//go:embed all:scaffold
var scaffold embed.FS

func newCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "new NAME",
		Short: "Create a working site folder to start from",
		Long: `New creates the folder NAME with a small blog: bake.toml with one route of
each kind, templates with a base layout and a partial, a stylesheet, and
seed.sql, from which the first build creates the SQLite database site.db.`,
		Example: `  bake new mysite && cd mysite && bake build && bake serve`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := args[0]
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(g.dir, dest) // -C DIR new NAME: DIR/NAME
			}
			if err := writeScaffold(dest); err != nil {
				return err
			}
			fmt.Fprintf(g.stdio.Out, "created %s\nnext: cd %s && bake build && bake serve\n", dest, dest)
			return nil
		},
	}
}

// writeScaffold copies the embedded starter site into dest, which must not
// exist or be empty.
func writeScaffold(dest string) error {
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return fmt.Errorf("new site: %s already exists and is not empty; choose another name", dest)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("new site: %w", err)
	}
	sub, _ := fs.Sub(scaffold, "scaffold")
	if err := os.CopyFS(dest, sub); err != nil {
		return fmt.Errorf("new site: %w", err)
	}
	return nil
}
