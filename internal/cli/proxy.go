package cli

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake/capture"
	"github.com/bakehq/bake/internal/fastserve"
	"github.com/bakehq/bake/proxy"
	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"
)

// proxyConfig is the [proxy] table of bake.toml, read here (not by
// sqlsite) until sqlsite's config takes it.
type proxyConfig struct {
	Origin       string            `toml:"origin"`
	Save         []string          `toml:"save"`
	AllowCookies []string          `toml:"allow_cookies"`
	TTL          string            `toml:"ttl"`
	Jitter       float64           `toml:"jitter"`
	WaitRefresh  bool              `toml:"wait_refresh"`
	MaxSize      int64             `toml:"max_size"`
	TokenEnv     string            `toml:"purge_token_env"`
	Database     string            `toml:"database"`
	Rewarm       bool              `toml:"rewarm"`
	Purge        []proxyPurgeTable `toml:"purge"`
}

// proxyPurgeTable maps a table's row changes to the paths they purge
// ([[proxy.purge]]), acted on when [proxy] database names the origin's
// database.
type proxyPurgeTable struct {
	Table string   `toml:"table"`
	Paths []string `toml:"paths"`
}

// proxySite is what the proxy commands read of a site folder: its build
// folder and its [proxy] table.
type proxySite struct {
	out string
	cfg proxyConfig
}

// loadProxySite reads bake.toml's [site] output and [proxy] table. The
// rest of the file is sqlsite's; [proxy] is read strictly (an unknown key
// is an error).
func loadProxySite(dir string) (*proxySite, error) {
	file := filepath.Join(dir, "bake.toml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read site: %w", err)
	}
	var top struct {
		Site struct {
			Output string `toml:"output"`
		} `toml:"site"`
		Proxy map[string]any `toml:"proxy"`
	}
	if err := toml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("read site: %s: %w", file, err)
	}
	s := &proxySite{out: top.Site.Output}
	if s.out == "" {
		s.out = "_site"
	}
	if !filepath.IsAbs(s.out) {
		s.out = filepath.Join(dir, s.out)
	}
	if top.Proxy != nil {
		raw, err := toml.Marshal(top.Proxy)
		if err != nil {
			return nil, fmt.Errorf("read site: %s: [proxy]: %w", file, err)
		}
		dec := toml.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s.cfg); err != nil {
			var sm *toml.StrictMissingError
			if errors.As(err, &sm) {
				return nil, fmt.Errorf("read site: %s: [proxy]: %s", file, strings.TrimSpace(sm.String()))
			}
			return nil, fmt.Errorf("read site: %s: [proxy]: %w", file, err)
		}
		if err := proxy.CheckRowPaths(s.rowPaths()); err != nil {
			return nil, fmt.Errorf("read site: %s: [[proxy.purge]]: %w", file, err)
		}
	}
	return s, nil
}

// rowPaths returns the [[proxy.purge]] tables.
func (s *proxySite) rowPaths() []proxy.RowPaths {
	var out []proxy.RowPaths
	for _, p := range s.cfg.Purge {
		out = append(out, proxy.RowPaths{Table: p.Table, Paths: p.Paths})
	}
	return out
}

// openOriginDB opens the origin's database u (a PostgreSQL URL or
// keyword/value string, or an SQLite file relative to the site folder dir)
// for change capture, and returns its dialect.
func openOriginDB(ctx context.Context, dir, u string) (*sql.DB, string, error) {
	dialect, err := databaseKind(u)
	if err != nil {
		return nil, "", err
	}
	var db *sql.DB
	if dialect == capture.Postgres {
		db, err = sql.Open("pgx", u)
	} else {
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, "", fmt.Errorf("open origin database: %w", err)
		}
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	}
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, "", fmt.Errorf("open origin database %s: %w", redact(u), hideSecrets(err, u))
	}
	return db, dialect, nil
}

type proxyFlags struct {
	origin    string
	addr      string
	save      []string
	ttl       time.Duration
	database  string
	install   bool
	uninstall bool
}

// options returns the proxy's options from bake.toml and the flags, which
// win.
func (s *proxySite) options(g *globals, f proxyFlags) (proxy.Options, error) {
	c := s.cfg
	opts := proxy.Options{Dir: s.out, Save: append(c.Save, f.save...), AllowCookies: c.AllowCookies,
		Jitter: c.Jitter, WaitRefresh: c.WaitRefresh, MaxSize: c.MaxSize, Logger: g.logger(), Rows: s.rowPaths()}
	origin := c.Origin
	if f.origin != "" {
		origin = f.origin
	}
	if origin == "" {
		return opts, errors.New("proxy: no origin: pass --origin http://HOST:PORT or set [proxy] origin in bake.toml")
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return opts, fmt.Errorf("proxy: origin %q: want http://HOST:PORT or https://HOST", origin)
	}
	opts.Origin = u
	if c.TTL != "" {
		if opts.TTL, err = time.ParseDuration(c.TTL); err != nil {
			return opts, fmt.Errorf("proxy: [proxy] ttl: %w", err)
		}
	}
	if f.ttl != 0 {
		opts.TTL = f.ttl
	}
	if c.TokenEnv != "" {
		opts.PurgeToken = os.Getenv(c.TokenEnv)
	}
	return opts, nil
}

func proxyCmd(g *globals) *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Serve a running site through a cache that saves its pages as flat files",
		Long: `Proxy runs in front of a site of any stack (Django, Rails, WordPress, a Go
app): the first time the origin answers a page with a public 200, the page
is saved into the build folder (default _site), and from then on it is
served from there, as bake serve serves a build, without the origin.

A page is saved only when its path matches a save pattern ([proxy] save in
bake.toml, or --save), the request is a GET without a query string,
Authorization or cookies (but those named in allow_cookies), and the answer
is a 200 without Set-Cookie, Cache-Control private or no-store, or a Vary
beyond Accept-Encoding. Redirects, 404s, errors and personal pages go
through and are never saved. Many requests for one missing page make one
request to the origin.

Saved pages are in the build's manifest (route "proxy", a dep url:PATH), so
bake publish, releases and rollback work for them; bake purge drops them,
bake warm saves them ahead of visitors. A bake.toml with only [site] is
enough. With [proxy] ttl, a page older than it is answered and fetched again
in the background; an origin that fails keeps it. With purge_token_env set,
POST /_bake/purge (over TLS or from loopback) takes path= and prefix= with
"Authorization: Bearer TOKEN".

[proxy] keys: origin, save (globs: * within a segment, ** anything; or
"re:REGEXP"), allow_cookies, ttl ("10m"), jitter (0.1), wait_refresh,
max_size (bytes), purge_token_env, database, rewarm. See docs/proxy.md,
with an nginx configuration that serves saved files itself.

Purge on row changes, with no change to the app: map tables of the
origin's own database to the pages that show their rows, and give the
database ([proxy] database, or --database):

  [proxy]
  database = "postgres://app@127.0.0.1/app"   # or an SQLite file
  [[proxy.purge]]
  table = "posts"
  paths = ["/posts/{slug}/", "/"]

Run bake proxy --install once to add change capture (triggers and the
bake_changes table, as bake watch --install does) to those tables. Then
each changed row purges its pages, {column} filled from the row read by
its primary key; with rewarm = true they are fetched again at once. A
deleted row, or a changed {column}, purges by prefix ("/posts/") where the
old value is needed and unknown. Saved pages record what they show in the
manifest: row:posts/KEY for the rows their path names (read from the
database), table:posts for a path without placeholders.

A Go program does all this inside itself with proxy.NewMiddleware, or bakes
its handler ahead of time with the handlersite package (docs/go.md).`,
		Example: `  bake proxy --origin http://127.0.0.1:8000 --save '/posts/**' --save /
  bake proxy -C mysite --addr 127.0.0.1:9000     # origin and patterns from [proxy]
  bake proxy --database app.db --install         # once: change capture on [[proxy.purge]] tables`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProxy(cmd.Context(), g, f)
		},
	}
	cmd.Flags().StringVar(&f.origin, "origin", "", "the site to front, http://HOST:PORT (default: [proxy] origin)")
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on, HOST:PORT")
	cmd.Flags().StringArrayVar(&f.save, "save", nil, "a path `PATTERN` whose pages are saved (repeat; added to [proxy] save)")
	cmd.Flags().DurationVar(&f.ttl, "ttl", 0, "how long a saved page is fresh (default: [proxy] ttl, or until purged)")
	cmd.Flags().StringVar(&f.database, "database", "", "the origin's database `URL`, whose row changes purge the pages of [[proxy.purge]] (default: [proxy] database)")
	cmd.Flags().BoolVar(&f.install, "install", false, "install change capture on the [[proxy.purge]] tables of --database and exit")
	cmd.Flags().BoolVar(&f.uninstall, "uninstall", false, "remove change capture (triggers and bake_changes) from --database and exit")
	cmd.MarkFlagsMutuallyExclusive("install", "uninstall")
	return cmd
}

// installProxyCapture adds change capture to the [[proxy.purge]] tables.
func installProxyCapture(ctx context.Context, g *globals, site *proxySite, dbURL string) error {
	if dbURL == "" {
		return errors.New("proxy --install: no database: pass --database URL or set [proxy] database")
	}
	rp := site.rowPaths()
	if len(rp) == 0 {
		return errors.New("proxy --install: no [[proxy.purge]] tables in bake.toml to capture changes of")
	}
	db, dialect, err := openOriginDB(ctx, g.dir, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var tables []string
	for _, t := range rp {
		if !slices.Contains(tables, t.Table) {
			tables = append(tables, t.Table)
		}
	}
	if err := capture.Install(ctx, db, dialect, tables); err != nil {
		return fmt.Errorf("proxy --install: %w", err)
	}
	fmt.Fprintf(g.stdio.Out, "change capture installed on %s; changes are recorded in %s\n", strings.Join(tables, ", "), capture.Table)
	return nil
}

func runProxy(ctx context.Context, g *globals, f proxyFlags) error {
	site, err := loadProxySite(g.dir)
	if err != nil {
		return err
	}
	dbURL := cmp.Or(f.database, site.cfg.Database)
	switch {
	case f.install:
		return installProxyCapture(ctx, g, site, dbURL)
	case f.uninstall:
		if dbURL == "" {
			return errors.New("proxy --uninstall: no database: pass --database URL or set [proxy] database")
		}
		db, dialect, err := openOriginDB(ctx, g.dir, dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := capture.Uninstall(ctx, db, dialect); err != nil {
			return fmt.Errorf("proxy --uninstall: %w", err)
		}
		fmt.Fprintln(g.stdio.Out, "change capture removed")
		return nil
	}
	opts, err := site.options(g, f)
	if err != nil {
		return err
	}
	log := opts.Logger
	if len(opts.Save) == 0 {
		log.Warn("no save patterns: pages are passed through, none is saved (set [proxy] save or --save)")
	}
	p, err := proxy.New(ctx, opts)
	if err != nil {
		return err
	}
	defer p.Close()
	switch rp := site.rowPaths(); {
	case dbURL != "" && len(rp) == 0:
		log.Warn("a database but no [[proxy.purge]] tables: row changes purge nothing")
	case dbURL == "" && len(rp) > 0:
		log.Warn("[[proxy.purge]] tables but no database: row changes purge nothing (set [proxy] database or --database)")
	case dbURL != "":
		db, dialect, err := openOriginDB(ctx, g.dir, dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		purger, err := proxy.NewRowPurger(ctx, p, proxy.RowPurgeOptions{DB: db, Dialect: dialect, Tables: rp, Rewarm: site.cfg.Rewarm})
		if err != nil {
			return fmt.Errorf("proxy: %w (run bake proxy --install once)", err)
		}
		log.Info("purging pages on row changes", "tables", strings.Join(purger.Tables(), ","))
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { purger.Run(rctx); close(done) }()
		defer func() { stop(); <-done }()
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("proxy: %w; choose another with --addr HOST:PORT", err)
	}
	// Hits of saved pages are answered by fasthttp from the file server's
	// memory; everything else by the proxy, through net/http.
	srv, err := fastserve.New(fastserve.Options{Handler: p, Lookup: p.Lookup, SkipCredentials: true, Logger: log})
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	fmt.Fprintf(g.stdio.Out, "proxying %s on http://%s/, saving into %s (Ctrl-C to stop)\n", opts.Origin, ln.Addr(), site.out)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("proxy: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	fmt.Fprintln(g.stdio.Out, "stopped")
	return nil
}

func purgeCmd(g *globals) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "purge [PATH...]",
		Short: "Drop pages that bake proxy saved, so the next request fetches them again",
		Long: `Purge removes pages saved by bake proxy from the build folder and its
manifest: each PATH, and with --prefix every saved page under it. Pages a
build made are never removed. A running proxy asks the origin again on the
next request for a purged page. It prints the paths removed.`,
		Example: `  bake purge /posts/hello/ /
  bake purge --prefix /posts/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && prefix == "" {
				return errors.New("purge: name pages to purge: PATH... or --prefix /posts/")
			}
			site, err := loadProxySite(g.dir)
			if err != nil {
				return err
			}
			purged, err := proxy.Purge(cmd.Context(), site.out, args, prefix)
			if err != nil {
				return err
			}
			for _, p := range purged {
				fmt.Fprintln(g.stdio.Out, p)
			}
			if len(purged) == 0 {
				// Nothing on stdout (scripts read the paths), but a person
				// sees that the path matched no saved page.
				where := slices.Clip(args)
				if prefix != "" {
					where = append(where, prefix+"*")
				}
				fmt.Fprintf(g.stdio.Err, "bake purge: nothing purged: no page the proxy saved in %s is at %s\n", site.out, strings.Join(where, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "purge every saved page whose path starts with `PREFIX`")
	return cmd
}

func warmCmd(g *globals) *cobra.Command {
	var f proxyFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "warm PATH...",
		Short: "Fetch pages from the origin and save them before the first visitor asks",
		Long: `Warm asks the origin of bake proxy for each PATH and saves the page into the
build folder under the same rules as the proxy (a save pattern matches, a
public 200), replacing a saved page that changed. It prints, for each path,
the origin's status and whether it was saved (or why not), and exits 1 if
any was not.`,
		Example: `  bake warm / /posts/hello/
  bake warm --origin http://127.0.0.1:8000 --save '/**' /about/ --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			site, err := loadProxySite(g.dir)
			if err != nil {
				return err
			}
			opts, err := site.options(g, f)
			if err != nil {
				return err
			}
			p, err := proxy.New(cmd.Context(), opts)
			if err != nil {
				return err
			}
			defer p.Close()
			res, err := p.Warm(cmd.Context(), args)
			if err != nil {
				return err
			}
			failed := 0
			for _, w := range res {
				if !w.Saved {
					failed++
				}
				if asJSON {
					b, _ := json.Marshal(w)
					fmt.Fprintf(g.stdio.Out, "%s\n", b)
				} else if w.Saved {
					fmt.Fprintf(g.stdio.Out, "%s\t%d\tsaved\n", w.Path, w.Status)
				} else {
					fmt.Fprintf(g.stdio.Out, "%s\t%d\tnot saved: %s\n", w.Path, w.Status, w.Why)
				}
			}
			if failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.origin, "origin", "", "the site to fetch from, http://HOST:PORT (default: [proxy] origin)")
	cmd.Flags().StringArrayVar(&f.save, "save", nil, "a path `PATTERN` whose pages are saved (repeat; added to [proxy] save)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a path")
	return cmd
}
