package benchsite

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// siteFiles is the site folder of the workload. "all:" keeps the shared
// templates, whose names start with "_".
//
//go:embed all:site
var siteFiles embed.FS

// DatabaseFile is the SQLite file named by the bake.toml of [WriteSite],
// relative to the site folder.
const DatabaseFile = "bench.db"

// WriteSite writes the site folder of the workload into dir, creating it if
// needed and replacing files of the same names: bake.toml (database url
// [DatabaseFile]), templates/ and static/.
//
// The routes are home "/" (the 50 latest published items as cards), the list
// "/items/" and the category lists "/categories/{category}/" (50 a page,
// numbered from the newest), the same list paginated stably "/news/" (50 a
// page when made, numbered from the oldest; see [UseStablePagination]), the
// item pages "/items/{slug}/", the RSS feed "/feed.xml" and Atom feed
// "/atom.xml" (50 latest), "/sitemap.xml" and "/404.html". Every HTML page
// uses templates/_base.html: a header, a sidebar listing the categories (the
// site-wide query "categories") and a footer, about 10 KB with an item's body.
func WriteSite(dir string) error {
	sub, err := fs.Sub(siteFiles, "site")
	if err != nil {
		return fmt.Errorf("write site: %w", err)
	}
	err = fs.WalkDir(sub, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if e.IsDir() {
			return os.MkdirAll(path, 0o755)
		}
		data, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		return os.WriteFile(path, data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("write site: %w", err)
	}
	return nil
}

// UseStablePagination rewrites the bake.toml of a site written by
// [WriteSite] in dir so that its numbered lists, "/items/" and the category
// lists, are paginated stably too (pagination = "stable"), with templates
// that leave out the number of pages: then no change of one row rewrites
// more than the pages that held it and hold it.
func UseStablePagination(dir string) error {
	name := filepath.Join(dir, "bake.toml")
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("use stable pagination: %w", err)
	}
	s := string(b)
	for _, tmpl := range [][2]string{{"list.html", "news.html"}, {"category.html", "stable_category.html"}} {
		old := "per_page = 50\ntemplate = \"" + tmpl[0] + "\"\n"
		if !strings.Contains(s, old) {
			return fmt.Errorf("use stable pagination: %s has no list with template %s (not written by WriteSite?)", name, tmpl[0])
		}
		s = strings.Replace(s, old, "per_page = 50\npagination = \"stable\"\ntemplate = \""+tmpl[1]+"\"\n", 1)
	}
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		return fmt.Errorf("use stable pagination: %w", err)
	}
	return nil
}
