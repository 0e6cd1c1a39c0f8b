package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/bakehq/bake/sqlsite"
)

// checkOutput refuses a build folder that would take the site with it: a
// full build replaces its output folder whole and deletes the old one, so
// the output must not be or contain the site folder, its templates, its
// static files or its SQLite database, nor lie inside the templates or
// static folders (the build would read itself). The output package also
// refuses any folder that is not a build; this names what is at stake.
func (o *openedSite) checkOutput(ctx context.Context, out string) error {
	dbFile := ""
	if o.dialect == sqlsite.SQLite {
		// The file SQLite really opened, whatever the URL's form.
		if err := o.db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&dbFile); err != nil {
			dbFile = ""
		}
	}
	return checkOutputPaths(out, o.dir, o.cfg.Site, dbFile)
}

func checkOutputPaths(out, siteDir string, site sqlsite.SiteConfig, dbFile string) error {
	o := realPath(out)
	inside := func(name string) string {
		if filepath.IsAbs(name) {
			return realPath(name)
		}
		return realPath(filepath.Join(siteDir, name))
	}
	type input struct{ what, path string }
	inputs := []input{
		{"the site folder", realPath(siteDir)},
		{"the templates folder", inside(site.Templates)},
	}
	for _, d := range site.Static {
		inputs = append(inputs, input{"the static folder", inside(d)})
	}
	if dbFile != "" {
		inputs = append(inputs, input{"the database", realPath(dbFile)})
	}
	for _, in := range inputs {
		var problem string
		switch {
		case in.path == o:
			problem = "is " + in.what
		case within(in.path, o):
			problem = "contains " + in.what + " " + in.path
		case in.what != "the site folder" && in.what != "the database" && within(o, in.path):
			problem = "is inside " + in.what + " " + in.path
		default:
			continue
		}
		return fmt.Errorf("output folder %s %s: a full build replaces its output folder whole and deletes the old one; set [site] output in bake.toml (or --output) to a folder of its own, such as _site", out, problem)
	}
	return nil
}

// within reports whether path lies inside dir (both clean and absolute).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// realPath returns p absolute, with the symbolic links of the part of it
// that exists resolved, so that two names of one folder compare equal.
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for dir := abs; ; {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return abs
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}
