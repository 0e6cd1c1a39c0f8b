package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/serve"
	"github.com/bakehq/bake/sqlsite"
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
change it rebuilds and reloads the open browser tabs.

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
	cmd.Flags().DurationVar(&f.poll, "poll", 500*time.Millisecond, "how often to look for changes")
	return cmd
}

func runServe(ctx context.Context, g *globals, f serveFlags) error {
	tuneGC()
	log := g.logger()
	if f.live && f.noBuild {
		return errors.New("serve: --live and --no-build cannot be used together")
	}
	cfg, err := sqlsite.LoadConfig(g.dir)
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

	// refresh rebuilds (or reloads the live site) and swaps the handler in.
	var liveSite *openedSite
	refresh := func() error {
		if f.live {
			s, err := openSite(ctx, g.dir, runtime.GOMAXPROCS(0))
			if err != nil {
				return err
			}
			if liveSite != nil {
				liveSite.Close()
			}
			liveSite = s
			setHandler(s.site)
			return nil
		}
		if !f.noBuild {
			if err := serveBuild(ctx, g, log); err != nil {
				return err
			}
		}
		// Pages get the reload script when a change can reload them.
		fsrv, err := serve.NewFileServer(out, serve.FileServerOptions{Logger: log, Reload: !f.noBuild})
		if err != nil {
			return err
		}
		setHandler(fsrv)
		return nil
	}
	if err := refresh(); err != nil {
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
	// The watcher takes its first look before the server answers: an edit
	// made once a page is served is a change, whatever the timing.
	var w *watcher
	if !f.noBuild {
		w = newWatcher(ctx, g.dir, cfg, log)
		defer w.close()
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("serve: %w; choose another with --addr HOST:PORT", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(g.stdio.Out, "serving %s on http://%s/ (Ctrl-C to stop)\n", map[bool]string{true: "live from the database", false: out}[f.live], ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	if w != nil {
		t := time.NewTicker(f.poll)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-t.C:
				what := w.changed()
				if what == "" {
					continue
				}
				start := time.Now()
				if err := refresh(); err != nil {
					log.Error("rebuild failed; still serving the previous build", "change", what, "err", err)
					continue
				}
				log.Info("rebuilt", "change", what, "seconds", time.Since(start).Seconds())
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

// serveBuild runs a build for the preview, printing problems.
func serveBuild(ctx context.Context, g *globals, log *slog.Logger) error {
	site, err := openSite(ctx, g.dir, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	defer site.Close()
	if err := site.checkOutput(ctx, site.output()); err != nil {
		return err
	}
	rep, err := build.Build(ctx, site.site, build.Options{Output: site.output(), Logger: log})
	if rep != nil {
		printProblems(g.stdio.Err, rep.Problems)
		if err == nil {
			log.Info("built", "pages", rep.Pages, "seconds", rep.Seconds)
		}
	}
	return err
}

// watcher notices changes to the site's files and data by polling: file
// sizes and times under the site folder (not the output), and the
// database's change counter.
type watcher struct {
	ctx   context.Context
	dir   string
	out   string
	files map[string]string
	db    *sql.DB
	probe string
	data  string
	log   *slog.Logger
	cfg   *sqlsite.Config
}

func newWatcher(ctx context.Context, dir string, cfg *sqlsite.Config, log *slog.Logger) *watcher {
	w := &watcher{ctx: ctx, dir: dir, log: log, cfg: cfg}
	w.out, _ = filepath.Abs(filepath.Join(dir, cfg.Site.Output))
	w.files = w.scan()
	w.openProbe()
	return w
}

// openProbe opens the connection that asks the database for its change
// counter; it is reopened when the database file itself is replaced.
func (w *watcher) openProbe() {
	if w.db != nil {
		w.db.Close()
		w.db = nil
	}
	db, dialect, err := openDB(w.ctx, w.dir, w.cfg.Database, 1, 0)
	if err != nil {
		return
	}
	db.SetMaxOpenConns(1)
	w.db = db
	if dialect == sqlsite.Postgres {
		w.probe = "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text FROM pg_stat_user_tables"
	} else {
		w.probe = "PRAGMA data_version"
	}
	w.data = w.dataVersion()
}

func (w *watcher) close() {
	if w.db != nil {
		w.db.Close()
	}
}

func (w *watcher) dataVersion() string {
	var v string
	if err := w.db.QueryRowContext(w.ctx, w.probe).Scan(&v); err != nil {
		return ""
	}
	return v
}

func (w *watcher) scan() map[string]string {
	files := map[string]string{}
	filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			abs, _ := filepath.Abs(p)
			if abs == w.out || (d.Name() != "." && len(d.Name()) > 0 && d.Name()[0] == '.') {
				return filepath.SkipDir
			}
			return nil
		}
		// A database file counts (deleting it rebuilds from the seed); its
		// journal files change as it is read, and the data probe covers writes.
		if n := d.Name(); len(n) > 0 && n[0] == '.' || strings.HasSuffix(n, "-wal") || strings.HasSuffix(n, "-shm") || strings.HasSuffix(n, "-journal") || strings.HasSuffix(n, ".seeding") {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			files[p] = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	return files
}

// changed returns what changed since the last call, or "".
func (w *watcher) changed() string {
	what := ""
	files := w.scan()
	for p, v := range files {
		if w.files[p] != v {
			what = p
			break
		}
	}
	if what == "" {
		for p := range w.files {
			if _, ok := files[p]; !ok {
				what = p
				break
			}
		}
	}
	w.files = files
	if what != "" && (strings.HasSuffix(what, ".db") || strings.HasSuffix(what, ".sqlite")) {
		w.openProbe() // the file was replaced: ask the new one from now on
		return what
	}
	if w.db != nil {
		if v := w.dataVersion(); v != w.data {
			w.data = v
			if what == "" {
				what = "database"
			}
		}
	}
	return what
}
