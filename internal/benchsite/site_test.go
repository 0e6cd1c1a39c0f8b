package benchsite

import (
	"bytes"
	"database/sql"
	"fmt"
	"html/template"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pelletier/go-toml/v2"
	"github.com/yuin/goldmark"
)

// siteConfig mirrors the keys of docs/config.md that the bake.toml of
// WriteSite uses; decoding is strict, as bake's is.
type siteConfig struct {
	Site struct {
		Title     string `toml:"title"`
		BaseURL   string `toml:"base_url"`
		Output    string `toml:"output"`
		Templates string `toml:"templates"`
		Static    string `toml:"static"`
	} `toml:"site"`
	Database struct {
		URL string `toml:"url"`
	} `toml:"database"`
	Queries map[string]string `toml:"queries"`
	Routes  []siteRoute       `toml:"route"`
}

type siteRoute struct {
	Name     string            `toml:"name"`
	Kind     string            `toml:"kind"`
	Path     string            `toml:"path"`
	Query    string            `toml:"query"`
	OrderBy  string            `toml:"order_by"`
	PerPage  int               `toml:"per_page"`
	GroupBy  string            `toml:"group_by"`
	Paginate string            `toml:"pagination"`
	Key      string            `toml:"key"`
	Table    string            `toml:"table"`
	LastMod  string            `toml:"lastmod"`
	Template string            `toml:"template"`
	Queries  map[string]string `toml:"queries"`
	Format   string            `toml:"format"`
	Title    string            `toml:"title"`
	Link     string            `toml:"link"`
	Date     string            `toml:"date"`
	Columns  struct {
		Title   string `toml:"title"`
		Content string `toml:"content"`
	} `toml:"columns"`
}

func readConfig(t *testing.T, dir string) siteConfig {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "bake.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cfg siteConfig
	if err := toml.NewDecoder(f).DisallowUnknownFields().Decode(&cfg); err != nil {
		t.Fatalf("bake.toml: %v", err)
	}
	return cfg
}

func (c siteConfig) route(name string) (siteRoute, bool) {
	for _, r := range c.Routes {
		if r.Name == name {
			return r, true
		}
	}
	return siteRoute{}, false
}

func TestWriteSite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if err := WriteSite(dir); err != nil {
		t.Fatal(err)
	}
	cfg := readConfig(t, dir)
	if cfg.Database.URL != DatabaseFile {
		t.Errorf("database url %q, want %q", cfg.Database.URL, DatabaseFile)
	}
	if _, ok := cfg.Queries["categories"]; !ok {
		t.Error("no site-wide query categories")
	}
	var got []string
	for _, r := range cfg.Routes {
		got = append(got, fmt.Sprintf("%s %s %s %d", r.Name, r.Kind, r.Path, r.PerPage))
		if r.Template != "" {
			if _, err := os.Stat(filepath.Join(dir, "templates", r.Template)); err != nil {
				t.Errorf("route %s: %v", r.Name, err)
			}
		}
	}
	want := []string{
		"home page / 0",
		"items list /items/ 50",
		"news list /news/ 50",
		"category list /categories/{category}/ 50",
		"item detail /items/{slug}/ 0",
		"rss feed /feed.xml 0",
		"atom feed /atom.xml 0",
		"sitemap sitemap /sitemap.xml 0",
		"notfound notfound /404.html 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	for _, f := range []string{"templates/_base.html", "static/css/site.css", "static/js/site.js", "static/favicon.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// Writing again replaces the files with the same bytes.
	again := t.TempDir()
	if err := WriteSite(again); err != nil {
		t.Fatal(err)
	}
	if err := WriteSite(again); err != nil {
		t.Fatalf("second WriteSite: %v", err)
	}
	if !equalFiles(t, filepath.Join(dir, "bake.toml"), filepath.Join(again, "bake.toml")) {
		t.Error("bake.toml differs between two WriteSite calls")
	}
}

// TestSiteQueries runs every query of bake.toml on a populated database, the
// way the engine combines them: query, then ORDER BY (group first) and LIMIT.
func TestSiteQueries(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSite(dir); err != nil {
		t.Fatal(err)
	}
	cfg := readConfig(t, dir)
	db := populated(t, 500, 1)
	count := func(q string) int {
		t.Helper()
		rows, err := queryRows(db, q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
		}
		return len(rows)
	}
	if n := count(cfg.Queries["categories"]); n != len(Categories) {
		t.Errorf("categories: %d rows, want %d", n, len(Categories))
	}
	for _, r := range cfg.Routes {
		for name, q := range r.Queries {
			if n := count(q); n != 50 {
				t.Errorf("route %s query %s: %d rows, want 50", r.Name, name, n)
			}
		}
		if r.Query == "" {
			continue
		}
		q := r.Query
		if r.OrderBy != "" {
			order := r.OrderBy
			if r.GroupBy != "" {
				order = r.GroupBy + ", " + order
			}
			q = "SELECT * FROM (" + q + ") AS q ORDER BY " + order
		}
		if n := count(q); n < 50 || n > 500 {
			t.Errorf("route %s: %d rows", r.Name, n)
		}
	}
}

// queryRows returns the rows of q as maps, the way templates see them.
func queryRows(db *sql.DB, q string, args ...any) ([]map[string]any, error) {
	rs, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, rs.Err()
}

// Template data, as docs/config.md describes it.
type (
	tmplData struct {
		Site  tmplSite
		Page  tmplPage
		Row   map[string]any
		Rows  []map[string]any
		Group string
		Pager *tmplPager
		Data  map[string][]map[string]any
	}
	tmplSite  struct{ Title, BaseURL string }
	tmplPage  struct{ Path, URL, Route string }
	tmplPager struct {
		Number, Total           int
		Items                   []map[string]any
		Prev, Next, First, Last string
	}
)

// renderer renders the site's templates with stand-ins for the template
// functions of docs/config.md.
type renderer struct {
	dir   string
	cfg   siteConfig
	funcs template.FuncMap
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func newRenderer(t *testing.T, dir string) *renderer {
	r := &renderer{dir: dir, cfg: readConfig(t, dir)}
	md := goldmark.New()
	r.funcs = template.FuncMap{
		"url": func(name string, args ...any) (string, error) {
			route, ok := r.cfg.route(name)
			if !ok {
				return "", fmt.Errorf("url: unknown route %q", name)
			}
			values := map[string]any{}
			switch {
			case len(args) == 1:
				m, ok := args[0].(map[string]any)
				if !ok {
					return "", fmt.Errorf("url %s: argument %T is not a row", name, args[0])
				}
				values = m
			case len(args)%2 == 0:
				for i := 0; i < len(args); i += 2 {
					values[fmt.Sprint(args[i])] = args[i+1]
				}
			default:
				return "", fmt.Errorf("url %s: odd arguments %v", name, args)
			}
			var err error
			p := pathParam.ReplaceAllStringFunc(route.Path, func(s string) string {
				v, ok := values[s[1:len(s)-1]]
				if !ok {
					err = fmt.Errorf("url %s: no column %s", name, s)
				}
				return url.PathEscape(fmt.Sprint(v))
			})
			return p, err
		},
		"absurl": func(p string) string { return strings.TrimSuffix(r.cfg.Site.BaseURL, "/") + p },
		"markdown": func(s string) (template.HTML, error) {
			var b bytes.Buffer
			err := md.Convert([]byte(s), &b)
			return template.HTML(b.String()), err
		},
		"date": func(layout string, t time.Time) string { return t.Format(layout) },
		"static": func(name string) (string, error) {
			if _, err := os.Stat(filepath.Join(dir, "static", name)); err != nil {
				return "", err
			}
			return "/" + name, nil
		},
		"truncate": func(n int, s string) string {
			if len(s) <= n {
				return s
			}
			s = s[:n]
			if i := strings.LastIndexByte(s, ' '); i > 0 {
				s = s[:i]
			}
			return s + "…"
		},
		"slugify":   func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "-")) },
		"add":       func(a, b int) int { return a + b },
		"sub":       func(a, b int) int { return a - b },
		"cache":     func(name string, dot ...any) (template.HTML, error) { return "", nil }, // replaced in render
		"cacheEach": func(name string, list []map[string]any) (template.HTML, error) { return "", nil },
	}
	return r
}

// render executes a route template: shared templates are parsed first, so
// that the route's definitions replace the layout's default blocks.
func (r *renderer) render(t *testing.T, name string, data tmplData) string {
	t.Helper()
	tmpl := template.New(name).Funcs(r.funcs)
	shared, err := filepath.Glob(filepath.Join(r.dir, "templates", "_*.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(shared, filepath.Join(r.dir, "templates", name)) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		into := tmpl
		if filepath.Base(f) != name {
			into = tmpl.New(filepath.Base(f))
		}
		if _, err := into.Parse(string(src)); err != nil {
			t.Fatal(err)
		}
	}
	tmpl.Funcs(template.FuncMap{"cache": func(fragment string, dot ...any) (template.HTML, error) {
		var b bytes.Buffer
		var d any = data
		if len(dot) > 0 {
			d = dot[0]
		}
		err := tmpl.ExecuteTemplate(&b, fragment, d)
		return template.HTML(b.String()), err
	}, "cacheEach": func(fragment string, list []map[string]any) (template.HTML, error) {
		var b bytes.Buffer
		for _, d := range list {
			if err := tmpl.ExecuteTemplate(&b, fragment, d); err != nil {
				return "", err
			}
		}
		return template.HTML(b.String()), nil
	}})
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

// TestRenderPages renders one page of each HTML route from a populated
// database and checks its content and size: about 10 KB for an item.
func TestRenderPages(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSite(dir); err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, dir)
	db := populated(t, 500, 1)
	query := func(q string) []map[string]any {
		t.Helper()
		rows, err := queryRows(db, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return rows
	}
	site := tmplSite{Title: r.cfg.Site.Title, BaseURL: r.cfg.Site.BaseURL}
	shared := map[string][]map[string]any{"categories": query(r.cfg.Queries["categories"])}
	withData := func(route string) map[string][]map[string]any {
		rt, _ := r.cfg.route(route)
		d := map[string][]map[string]any{}
		for k, v := range shared {
			d[k] = v
		}
		for k, q := range rt.Queries {
			d[k] = query(q)
		}
		return d
	}
	route := func(name string) siteRoute {
		rt, ok := r.cfg.route(name)
		if !ok {
			t.Fatalf("no route %s", name)
		}
		return rt
	}

	item := route("item")
	rows := query(item.Query + " AND id = 42")
	if len(rows) != 1 {
		t.Fatalf("item 42: %d rows", len(rows))
	}
	items := query(route("items").Query + " ORDER BY " + route("items").OrderBy + " LIMIT 50")
	cat := route("category")
	catRows := query(cat.Query + " AND category = 'kilo' ORDER BY " + cat.OrderBy + " LIMIT 50")
	pager := &tmplPager{Number: 2, Total: 9, Items: items, Prev: "/items/", Next: "/items/page/3/", First: "/items/", Last: "/items/page/9/"}

	tests := []struct {
		name, template string
		data           tmplData
		contains       []string
		minKB, maxKB   float64
	}{
		{
			name: "item", template: item.Template,
			data: tmplData{Page: tmplPage{"/items/item-42/", "/items/item-42/", "item"}, Row: rows[0], Data: withData("item")},
			contains: []string{
				"<h1 class=\"article__title\" itemprop=\"headline\">" + rows[0]["title"].(string) + "</h1>",
				"<h2>", "<strong>", `href="/categories/` + rows[0]["category"].(string) + `/"`,
				`datetime="2020-01-01T00:42:00Z"`, `<link rel="canonical" href="https://bench.example.org/items/item-42/">`,
			},
			minKB: 9, maxKB: 11.5,
		},
		{
			name: "home", template: route("home").Template,
			data:     tmplData{Page: tmplPage{"/", "/", "home"}, Data: withData("home")},
			contains: []string{`class="card"`, `href="/items/item-499/"`},
			minKB:    20, maxKB: 40,
		},
		{
			name: "items", template: route("items").Template,
			data:     tmplData{Page: tmplPage{"/items/page/2/", "/items/page/2/", "items"}, Rows: items, Pager: pager, Data: withData("items")},
			contains: []string{`rel="next"`, "Page 2 of 9", `href="/items/item-`},
			minKB:    20, maxKB: 40,
		},
		{
			name: "category", template: cat.Template,
			data:     tmplData{Page: tmplPage{"/categories/kilo/", "/categories/kilo/", "category"}, Rows: catRows, Group: "kilo", Pager: &tmplPager{Number: 1, Total: 1, Items: catRows}, Data: withData("category")},
			contains: []string{"Category: kilo", `href="/categories/kilo/"`},
			minKB:    8, maxKB: 30,
		},
		{
			name: "notfound", template: route("notfound").Template,
			data:     tmplData{Page: tmplPage{"/404.html", "/404.html", "notfound"}, Data: withData("notfound")},
			contains: []string{"Page not found"},
			minKB:    6, maxKB: 10,
		},
	}
	t.Run("item size", func(t *testing.T) {
		// The average item page is about 10 KB.
		total := 0
		details := query(item.Query + " AND id <= 200")
		for _, row := range details {
			p := "/items/" + row["slug"].(string) + "/"
			total += len(r.render(t, item.Template, tmplData{Site: site, Page: tmplPage{p, p, "item"}, Row: row, Data: withData("item")}))
		}
		avg := float64(total) / float64(len(details)) / 1024
		t.Logf("average item page of %d: %.2f KB", len(details), avg)
		if avg < 9.5 || avg > 10.5 {
			t.Errorf("average item page of %.2f KB, want about 10 KB", avg)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.data.Site = site
			html := r.render(t, tt.template, tt.data)
			for _, s := range append(tt.contains, `href="/categories/alpha/"`, `href="/categories/tango/"`, `href="/feed.xml"`, `href="/css/site.css"`) {
				if !strings.Contains(html, s) {
					t.Errorf("page has no %q", s)
				}
			}
			if kb := float64(len(html)) / 1024; kb < tt.minKB || kb > tt.maxKB {
				t.Errorf("page of %.1f KB, want %.1f to %.1f KB", kb, tt.minKB, tt.maxKB)
			}
			t.Logf("%s: %d bytes", tt.name, len(html))
			if os.Getenv("BENCHSITE_DUMP") != "" {
				os.WriteFile(filepath.Join(os.Getenv("BENCHSITE_DUMP"), tt.name+".html"), []byte(html), 0o644)
			}
		})
	}
}

// TestUseStablePagination: the numbered lists become stable, with
// templates that exist; a bake.toml not written by WriteSite is an error.
func TestUseStablePagination(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSite(dir); err != nil {
		t.Fatal(err)
	}
	if err := UseStablePagination(dir); err != nil {
		t.Fatal(err)
	}
	cfg := readConfig(t, dir)
	for _, name := range []string{"items", "news", "category"} {
		r, ok := cfg.route(name)
		if !ok || r.Paginate != "stable" {
			t.Errorf("route %s: pagination %q, want stable", name, r.Paginate)
		}
		if _, err := os.Stat(filepath.Join(dir, "templates", r.Template)); err != nil {
			t.Errorf("route %s: %v", name, err)
		}
	}
	if err := UseStablePagination(dir); err == nil {
		t.Error("UseStablePagination twice: no error")
	}
}
