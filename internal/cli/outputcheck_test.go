package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/sqlsite"
)

func TestCheckOutputPaths(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "site")
	for _, d := range []string{"templates", "static", "data"} {
		os.MkdirAll(filepath.Join(site, d), 0o755)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(site, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	cfg := sqlsite.SiteConfig{Templates: "templates", Static: sqlsite.StaticDirs{"static"}}
	db := filepath.Join(site, "data", "site.db")
	tests := []struct {
		out, err string // err "" if allowed
	}{
		{filepath.Join(site, "_site"), ""},
		{filepath.Join(root, "elsewhere"), ""},
		{filepath.Join(site, "templates-out"), ""},
		{site, "is the site folder"},
		{link, "is the site folder"}, // the same folder by another name
		{root, "contains the site folder"},
		{"/", "contains the site folder"},
		{filepath.Join(site, "templates"), "is the templates folder"},
		{filepath.Join(link, "static"), "is the static folder"},
		{filepath.Join(site, "static", "out"), "is inside the static folder"},
		{filepath.Join(site, "templates", "a", "b"), "is inside the templates folder"},
		{filepath.Join(site, "data"), "contains the database"},
	}
	for _, tt := range tests {
		t.Run(tt.out, func(t *testing.T) {
			err := checkOutputPaths(tt.out, site, cfg, db)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("checkOutputPaths(%s) = %v; want nil", tt.out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.out) {
				t.Fatalf("checkOutputPaths(%s) = %v; want an error naming it, containing %q", tt.out, err, tt.err)
			}
		})
	}
}
