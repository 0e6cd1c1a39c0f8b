package cli

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
)

// TestLoadConfig: the command line's tables of bake.toml ([database],
// [publish]) are decoded strictly in the same pass as the site's, so their
// problems come with the site's, in line order; [proxy] is bake proxy's
// and does not stop a build.
func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, toml string
		want       []string // problems; nil when it loads
	}{
		{"every table", "[site]\ntitle = \"t\"\n[database]\nurl = \"x.db\"\nseed = \"s.sql\"\n[publish]\nurl = \"file:///srv/www\"\ncompress = \"br\"\n[proxy]\norigin = \"http://127.0.0.1:9\"\n[[proxy.purge]]\ntable = \"posts\"\npaths = [\"/\"]\n", nil},
		{"problems of every table, in line order", "[site]\ntitle = \"t\"\nfoo = 1\n[database]\nurl = 5\nbar = 2\n[publish]\ncompress = \"zstd\"\nbaz = 3\n", []string{
			`bake.toml:3: unknown key "site.foo"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:5: database.url: a TOML integer, where bake.toml wants a string (in quotes)`,
			`bake.toml:6: unknown key "database.bar"; see docs/config.md for the keys bake.toml takes`,
			`bake.toml:8: publish.compress "zstd": use "gzip" (the default), "br" or "none"`,
			`bake.toml:9: unknown key "publish.baz"; see docs/config.md for the keys bake.toml takes`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bake.toml"), []byte(tt.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(dir)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Database.URL != "x.db" || cfg.Database.Seed != "s.sql" || cfg.Publish.URL != "file:///srv/www" || cfg.Publish.Compress != "br" || cfg.Site.Title != "t" {
					t.Errorf("decoded %+v %+v %+v", cfg.Site, cfg.Database, cfg.Publish)
				}
				return
			}
			var probs sqlsite.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("got %v, want problems", err)
			}
			var got []string
			for _, p := range probs {
				got = append(got, trimDir(p.Error(), dir))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// trimDir drops the folder dir from the file names of a message.
func trimDir(msg, dir string) string {
	prefix := dir + string(filepath.Separator)
	for len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	return msg
}
