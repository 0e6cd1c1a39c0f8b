package cli

import (
	"fmt"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/sqlsite"
)

// siteConfig is bake.toml as the command line reads it: the site's tables
// (sqlsite.Config) and the command line's own, decoded in the same pass so
// that every problem of the file is reported at once, with its line.
type siteConfig struct {
	*sqlsite.Config
	Database DatabaseConfig
	Publish  PublishConfig
	Jobs     JobsConfig
	Build    BuildConfig
}

// BuildConfig is the [build] table: what a build does to pages once
// rendered.
type BuildConfig struct {
	// MinifyHTML minifies every rendered HTML page. bake build
	// --production turns it on whatever this says.
	MinifyHTML bool `toml:"minify_html"`
	// Precompress lists the precompressed siblings written beside every
	// text file: "gzip" (name.gz), "br" (name.br), for nginx's
	// gzip_static and brotli_static, bake serve and bake publish. If
	// empty, none.
	Precompress []string `toml:"precompress"`
	// PrecompressMin is the smallest file compressed, in bytes. If zero,
	// 1024.
	PrecompressMin int `toml:"precompress_min"`
	// FullBuildPages is sqlsite.Options.ManyPages: edited templates and
	// static files that re-render more pages than this, and more than a
	// quarter of the build's, make a full build. If zero, 2000; -1, never.
	FullBuildPages int `toml:"full_build_pages"`
}

// JobsConfig is the [jobs] table: what bake run schedules.
type JobsConfig struct {
	// Schedule lists the rows that appear on the site at a time of their
	// own (an embargoed story): bake run schedules a build for that time,
	// with no write to the database and no cron.
	Schedule []ScheduleRule `toml:"schedule"`
}

// ScheduleRule is one [[jobs.schedule]]: rows of Table appear when the
// database's clock passes their Column, which the route's query compares
// with it (WHERE publish_at <= CURRENT_TIMESTAMP).
type ScheduleRule struct {
	Table  string `toml:"table"`
	Column string `toml:"column"`
	// Key is the column that names a row in its pages' deps, as change
	// capture does (the primary key). If empty, "id".
	Key string `toml:"key"`
}

// loadConfig reads and checks the bake.toml of the site folder dir.
func loadConfig(dir string) (*siteConfig, error) {
	c := &siteConfig{}
	var proxy map[string]any // [proxy] is read by bake proxy itself (see proxy.go)
	cfg, err := sqlsite.LoadConfigWith(dir, sqlsite.LoadOptions{
		Tables: map[string]any{"database": &c.Database, "publish": &c.Publish, "proxy": &proxy, "jobs": &c.Jobs, "build": &c.Build},
		Check:  c.check,
	})
	if err != nil {
		return nil, err
	}
	c.Config = cfg
	return c, nil
}

// check reports the problems of the command line's tables.
func (c *siteConfig) check(lineOf func(key string) int) []error {
	var probs []error
	switch c.Publish.Compress {
	case "", "gzip", "br", "none":
	default:
		probs = append(probs, &bake.Error{Line: lineOf("compress"),
			Err: fmt.Errorf("publish.compress %q: use \"gzip\" (the default), \"br\" or \"none\"", c.Publish.Compress)})
	}
	for _, cd := range c.Build.Precompress {
		if precompress.Ext(cd) == "" {
			probs = append(probs, &bake.Error{Line: lineOf("precompress"),
				Err: fmt.Errorf("build.precompress %q: use \"gzip\" (name.gz) and \"br\" (name.br), as precompress = [\"gzip\", \"br\"]", cd)})
		}
	}
	if c.Build.FullBuildPages < -1 {
		probs = append(probs, &bake.Error{Line: lineOf("full_build_pages"),
			Err: fmt.Errorf("build.full_build_pages %d: give a number of pages (0 means 2000), or -1 for never", c.Build.FullBuildPages)})
	}
	if c.Build.PrecompressMin < 0 {
		probs = append(probs, &bake.Error{Line: lineOf("precompress_min"),
			Err: fmt.Errorf("build.precompress_min %d: give a size in bytes, 0 or more (0 means 1024)", c.Build.PrecompressMin)})
	}
	for i, r := range c.Jobs.Schedule {
		if r.Table == "" || r.Column == "" {
			probs = append(probs, &bake.Error{Line: lineOf("table"),
				Err: fmt.Errorf("jobs.schedule %d: set table and column (the time each row appears), as table = \"posts\", column = \"publish_at\"", i+1)})
		}
	}
	return probs
}

// PublishConfig is the [publish] table: where bake publish puts the build.
// Credentials never come from here, but from each cloud's usual
// environment variables and files.
type PublishConfig struct {
	// URL is a gocloud.dev/blob bucket URL: file:///srv/www,
	// s3://bucket?region=…&endpoint=…, with an optional prefix=… parameter.
	URL string `toml:"url"`
	// MaxDeletes is the most objects one publish may delete without
	// --force. If zero, 256.
	MaxDeletes int `toml:"max_deletes"`
	// Workers is the number of uploads at once. If zero, 32.
	Workers int `toml:"workers"`
	// CloudFront, if set, is the ID of a CloudFront distribution in front
	// of the target: after each publish, exactly the replaced and deleted
	// paths are invalidated (one "/*" past 1,000 paths).
	CloudFront string `toml:"cloudfront"`
	// CacheControl rules, first match wins; unmatched objects get the
	// defaults (fingerprinted assets a year, HTML a minute, the rest an hour).
	CacheControl []CacheRule `toml:"cache_control"`
	// Compress is how text objects are stored on targets that serve
	// headers (S3, GCS, Azure): "gzip" (the default), "br" (brotli:
	// smaller, for sites whose every client accepts it, since a bucket
	// cannot negotiate), or "none".
	Compress string `toml:"compress"`
}

// CacheRule sets the Cache-Control of the objects whose key matches Glob
// (path.Match syntax, against the whole key or its base name).
type CacheRule struct {
	Glob  string `toml:"glob"`
	Value string `toml:"value"`
}

// DatabaseConfig is the [database] table.
type DatabaseConfig struct {
	// URL is an SQLite file path (relative to the site folder), "sqlite:PATH",
	// a postgres:// URL, or a libpq keyword/value string ("host=db
	// dbname=news"). ${VAR} is expanded from the environment, and
	// BAKE_DATABASE_URL overrides it.
	URL string `toml:"url"`
	// Seed is an SQL file (relative to the site folder) run to create the
	// SQLite database when its file does not exist yet. Optional.
	Seed string `toml:"seed"`
}
