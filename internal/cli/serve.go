package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake/internal/fastserve"
	"github.com/bakehq/bake/serve"
	"github.com/bakehq/bake/sqlsite"
	"github.com/bakehq/bake/watch"
	"github.com/spf13/cobra"
)

type serveFlags struct {
	addr    string
	live    bool
	noBuild bool
	poll    time.Duration
}

func serveCmd(g *globals) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Build the site and preview it, rebuilding when anything changes",
		Long: `Serve builds the site, serves the build folder on http://127.0.0.1:8000, and
watches bake.toml, the templates, the static files and the database: on a
change it brings the build up to date and reloads the open browser tabs.

Builds are incremental, as bake build's are: an edit to a template or a
static file re-renders only the pages that use it; a row edit re-renders
only the pages that read the row when change capture names it (bake watch
--install), and makes a full build otherwise; bake.toml makes a full build.

The preview answers like a static host would: content types from the
build, index.html for folders, the site's 404 page, ETag and
Last-Modified with 304 answers, gzip and brotli.

--live skips the build: each request is rendered straight from the
database through the same routes, which suits editing templates on a big
site. --no-build serves the build folder as it is, without watching.
Ctrl-C stops the server.`,
		Example: `  bake serve -C examples/newsroom
  bake serve --live --addr 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, f)
		},
	}
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8000", "address to listen on, HOST:PORT")
	cmd.Flags().BoolVar(&f.live, "live", false, "render each request from the database instead of building")
	cmd.Flags().BoolVar(&f.noBuild, "no-build", false, "serve the existing build folder without building or watching")
	cmd.Flags().DurationVar(&f.poll, "poll", 500*time.Millisecond, "how often to look for row changes, and for file edits where the file system gives no events")
	return cmd
}

func runServe(ctx context.Context, g *globals, f serveFlags) error {
	tuneGC()
	log := g.logger()
	if f.live && f.noBuild {
		return errors.New("serve: --live and --no-build cannot be used together")
	}
	cfg, err := loadConfig(g.dir)
	if err != nil {
		return reportSetupError(g, false, err)
	}
	out := cfg.Site.Output
	if !filepath.IsAbs(out) {
		out = filepath.Join(g.dir, out)
	}
	reloader := serve.NewReloader()
	defer reloader.Close()
	var current atomic.Pointer[http.Handler]
	setHandler := func(h http.Handler) { current.Store(&h) }

	// refresh brings the build up to date (or reloads the live site) and
	// swaps the handler in. noRowChanges: only files changed since the
	// last build, so that even without change capture the build can be
	// incremental.
	var liveSite *openedSite
	refresh := func(noRowChanges bool) (string, error) {
		if f.live {
			s, err := openSite(ctx, g.dir, runtime.GOMAXPROCS(0))
			if err != nil {
				return "", err
			}
			if liveSite != nil {
				liveSite.Close()
			}
			liveSite = s
			setHandler(s.site)
			return "reloaded", nil
		}
		what := ""
		if !f.noBuild {
			var err error
			if what, err = serveBuild(ctx, g, noRowChanges); err != nil {
				return "", err
			}
		}
		// Pages get the reload script when a change can reload them.
		fsrv, err := serve.NewFileServer(out, serve.FileServerOptions{Logger: log, Reload: !f.noBuild})
		if err != nil {
			return "", err
		}
		setHandler(fsrv)
		return what, nil
	}
	// The port is bound before the first build, which can take long: a
	// port in use is said at once.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("serve: %w; choose another with --addr HOST:PORT", err)
	}
	defer ln.Close()
	// The watcher takes its first look before the first build: an edit
	// made once a page is served is a change, whatever the timing.
	var w *siteWatcher
	if !f.noBuild {
		if w, err = newSiteWatcher(ctx, g.dir, cfg, out, f.poll, log, 0); err != nil {
			return err
		}
		defer w.Close()
	}
	if _, err := refresh(false); err != nil {
		var probs sqlsite.Problems
		if errors.As(err, &probs) {
			return reportSetupError(g, false, err)
		}
		return err
	}
	defer func() {
		if liveSite != nil {
			liveSite.Close()
		}
	}()

	mux := http.NewServeMux()
	mux.Handle(serve.ReloadPath, reloader)
	var pages http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*current.Load()).ServeHTTP(w, r)
	})
	if f.live {
		// Rendered pages get the script here; the file server adds it itself,
		// keeping its ETags and compression.
		pages = reloader.Inject(pages)
	}
	mux.Handle("/", pages)
	// Hits of the build folder are answered by fasthttp from the file
	// server's memory; everything else (the event stream, live pages,
	// misses) by mux, through net/http.
	srv, err := fastserve.New(fastserve.Options{
		Handler: mux,
		Logger:  log,
		Lookup: func(ctx context.Context, upath, ae string) (serve.Hit, bool) {
			if fs, ok := (*current.Load()).(*serve.FileServer); ok && upath != serve.ReloadPath {
				return fs.Lookup(ctx, upath, ae)
			}
			return serve.Hit{}, false
		},
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(g.stdio.Out, "serving %s on http://%s/ (Ctrl-C to stop)\n", map[bool]string{true: "live from the database", false: out}[f.live], ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	if w != nil {
		changes := make(chan watch.Event)
		go func() {
			for {
				ev, err := w.Next(ctx)
				if err != nil {
					return
				}
				select {
				case changes <- ev:
				case <-ctx.Done():
					return
				}
			}
		}()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case ev := <-changes:
				start := time.Now()
				what, err := refresh(!ev.Rows)
				if err != nil {
					log.Error("rebuild failed; still serving the previous build", "change", ev.String(), "err", err)
					continue
				}
				log.Info("rebuilt", "change", ev.String(), "build", what, "seconds", time.Since(start).Seconds())
				reloader.Notify()
			}
		}
	} else {
		select {
		case <-ctx.Done():
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	reloader.Close()
	srv.Shutdown(shutdown)
	fmt.Fprintln(g.stdio.Out, "stopped")
	return nil
}

// serveBuild brings the preview's build up to date through the engine,
// printing problems, and says which build it was ("incremental", "full").
func serveBuild(ctx context.Context, g *globals, noRowChanges bool) (string, error) {
	r, err := rebuild(ctx, g, buildFlags{quiet: true, wait: true}, noRowChanges)
	if r != nil {
		defer r.site.Close()
	}
	if r == nil || r.rep == nil {
		return "", err
	}
	printProblems(g.stdio.Err, r.rep.Problems)
	if r.rep.Incremental {
		return fmt.Sprintf("incremental: %d rendered, %d written, %d removed", r.rep.Rendered, r.rep.Written, r.rep.Removed), err
	}
	return fmt.Sprintf("full (%s): %d pages", r.rep.FullReason, r.rep.Pages), err
}

// siteWatcher is the change source of serve and watch: a [watch.Watcher]
// on the site folder and its database, with a connection of its own.
type siteWatcher struct {
	*watch.Watcher
	db *sql.DB
}

func newSiteWatcher(ctx context.Context, dir string, cfg *siteConfig, out string, poll time.Duration, log *slog.Logger, debounce time.Duration) (*siteWatcher, error) {
	opts := watch.Options{Dir: dir, Skip: []string{out}, Poll: poll, Debounce: debounce, Logger: log}
	// Only the site's inputs: a log file written in the site folder (bake
	// run > run.log) must not make a build, which writes to the log.
	opts.Only = []string{sqlsite.ConfigFile}
	for _, in := range append([]string{cfg.Site.Templates}, cfg.Site.Static...) {
		if filepath.IsLocal(in) {
			opts.Only = append(opts.Only, in)
		} else {
			opts.Only = nil // a folder outside the site: watch everything
			break
		}
	}
	db, dialect, err := openDB(ctx, dir, cfg.Database, 1, 0)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2) // the probe's, and LISTEN's or a query's
	opts.DB, opts.Dialect = db, dialect
	if dialect == sqlsite.SQLite {
		if u, err := databaseURL(cfg.Database); err == nil {
			opts.DBFile = sqlitePath(dir, u)
		}
	}
	w, err := watch.New(ctx, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &siteWatcher{Watcher: w, db: db}, nil
}

// Close stops watching.
func (s *siteWatcher) Close() error {
	err := s.Watcher.Close()
	s.db.Close()
	return err
}
