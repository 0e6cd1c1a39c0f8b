package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bakehq/bake/sqlsite"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// openedSite is a loaded site with its database.
type openedSite struct {
	dir     string
	cfg     *siteConfig
	db      *sql.DB
	dialect string
	site    *sqlsite.Site
	workers int
	mmap    int64     // bytes of an SQLite file mapped
	now     time.Time // the time of :now in its queries
}

func (o *openedSite) Close() error { return o.db.Close() }

// output returns the build folder path.
func (o *openedSite) output() string {
	if filepath.IsAbs(o.cfg.Site.Output) {
		return o.cfg.Site.Output
	}
	return filepath.Join(o.dir, o.cfg.Site.Output)
}

// openSite reads bake.toml in dir, opens the database and checks the site.
// An SQLite file is memory-mapped (see [sqliteMmapSize]). Its queries read
// bake's clock (BAKE_CLOCK, or the system's) for :now.
func openSite(ctx context.Context, dir string, workers int) (*openedSite, error) {
	clk, err := systemClock()
	if err != nil {
		return nil, err
	}
	return openSiteWith(ctx, dir, workers, sqliteMmapSize, clk.Now())
}

// openSiteWith is openSite with mmap bytes of an SQLite file mapped and
// now the time :now stands for.
func openSiteWith(ctx context.Context, dir string, workers int, mmap int64, now time.Time) (*openedSite, error) {
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, err
	}
	db, dialect, err := openDB(ctx, dir, cfg.Database, workers, mmap)
	if err != nil {
		return nil, err
	}
	site, err := sqlsite.New(ctx, cfg.Config, db, sqlsite.Options{Dir: dir, Dialect: dialect, Now: now,
		ManyPages: cfg.Build.FullBuildPages})
	if err != nil {
		db.Close()
		return nil, err
	}
	o := &openedSite{dir: dir, cfg: cfg, db: db, dialect: dialect, site: site, workers: workers, now: now}
	if dialect == sqlsite.SQLite {
		o.mmap = mmap
	}
	return o, nil
}

// sqliteMmapSize is how much of an SQLite site database is memory-mapped.
// An incremental build reads rows all over the file (a list re-paginated
// after an insert reads every row of it, through its index): mapped, that
// costs no system call a page, and an insert at N = 100,000 builds 20–25%
// faster. A full build reads it once from end to end, where mapping saves
// little and would count the whole file in the process's resident memory
// (RSS: 2.5 GB at N = 1,000,000), so it reopens the file unmapped
// ([openedSite.unmapped]). SQLite caps the size at 2 GB less 64 KiB.
const sqliteMmapSize = 0x7fff0000

// sqliteMmapWhole is the largest SQLite file that is mapped: every page an
// incremental build reads through the map counts in its resident memory
// until it exits, and an insert at N = 100,000 reads nearly all of a 233 MB
// file (RSS 375 MB mapped, 166 MB not). A larger file is read with pread;
// mapping only its first part saved little (64 MB: 246 MB, most of the
// system calls still made).
var sqliteMmapWhole int64 = 64 << 20 // a variable for tests

// unmapped returns the site with its SQLite database opened without a
// memory map, for a full build; o is closed once that succeeded (the
// caller still closes o on an error). A site on PostgreSQL, or already
// unmapped, is returned as it is.
func (o *openedSite) unmapped(ctx context.Context) (*openedSite, error) {
	if o.dialect != sqlsite.SQLite || o.mmap == 0 {
		return o, nil
	}
	u, err := openSiteWith(ctx, o.dir, o.workers, 0, o.now)
	if err != nil {
		return nil, err
	}
	o.Close()
	return u, nil
}

// databaseURL returns the database URL: BAKE_DATABASE_URL, or the config's
// with ${VAR} expanded.
func databaseURL(c DatabaseConfig) (string, error) {
	if u := os.Getenv("BAKE_DATABASE_URL"); u != "" {
		return u, nil
	}
	var missing []string
	u := os.Expand(c.URL, func(k string) string {
		v, ok := os.LookupEnv(k)
		if !ok {
			missing = append(missing, k)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("database url: environment variable %s is not set", strings.Join(missing, ", "))
	}
	if u == "" {
		return "", errors.New("database url: set [database] url in bake.toml (an SQLite file, postgres://… or host=… dbname=…) or BAKE_DATABASE_URL")
	}
	return u, nil
}

// openDB opens the site's database, creating an SQLite file from the seed
// SQL when it does not exist yet.
func openDB(ctx context.Context, dir string, c DatabaseConfig, workers int, mmap int64) (*sql.DB, string, error) {
	u, err := databaseURL(c)
	if err != nil {
		return nil, "", err
	}
	kind, err := databaseKind(u)
	if err != nil {
		return nil, "", err
	}
	if kind == sqlsite.Postgres {
		db, err := sql.Open("pgx", u)
		if err != nil {
			return nil, "", fmt.Errorf("open database %s: %w", redact(u), hideSecrets(err, u))
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, "", fmt.Errorf("open database %s: %w", redact(u), hideSecrets(err, u))
		}
		db.SetMaxOpenConns(workers + 4)
		db.SetMaxIdleConns(workers + 4)
		return db, sqlsite.Postgres, nil
	}
	path := sqlitePath(dir, u)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if c.Seed == "" {
			return nil, "", fmt.Errorf("open database: %s does not exist; check [database] url in bake.toml, or set seed = \"FILE.sql\" to create it", path)
		}
		if err := seedSQLite(ctx, path, filepath.Join(dir, c.Seed)); err != nil {
			return nil, "", err
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > sqliteMmapWhole {
		mmap = 0 // see sqliteMmapWhole
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=mmap_size("+strconv.FormatInt(mmap, 10)+")")
	if err != nil {
		return nil, "", fmt.Errorf("open database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(workers + 4)
	db.SetMaxIdleConns(workers + 4)
	return db, sqlsite.SQLite, nil
}

// sqlitePath returns the file of an SQLite database URL, relative to the
// site folder dir.
func sqlitePath(dir, u string) string {
	path := strings.TrimPrefix(u, "sqlite:")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return path
}

// seedSQLite creates the SQLite file path by running the SQL file seed; a
// failure leaves no half-made database behind.
func seedSQLite(ctx context.Context, path, seed string) error {
	script, err := os.ReadFile(seed)
	if err != nil {
		return fmt.Errorf("seed database: %w", err)
	}
	tmp := path + ".seeding"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", "file:"+tmp)
	if err != nil {
		return fmt.Errorf("seed database: %w", err)
	}
	_, err = db.ExecContext(ctx, string(script))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("seed database from %s: %w", seed, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("seed database: %w", err)
	}
	return nil
}
