package sqlsite

import "github.com/bakehq/bake"

// Config is a site definition, as read from bake.toml: the site's own
// tables. Tables of the program that runs the site ([database] and
// [publish] of the command line) are its own, decoded in the same pass
// (see [LoadOptions]).
type Config struct {
	Site     SiteConfig        `toml:"site"`
	Queries  map[string]string `toml:"queries"` // site-wide named queries, run once per build: .Data.NAME
	Routes   []Route           `toml:"route"`
	Markdown MarkdownConfig    `toml:"markdown"`
	Assets   AssetsConfig      `toml:"assets"` // what the build does to static files: docs/assets.md

	lines *lineIndex // where routes and keys are in the file, for later problems
}

// MarkdownConfig is the [markdown] table: the limits of the markdown
// template function (and of feed content), so that no row can stall a
// build. Goldmark's parser takes time that grows with the square of the
// nesting of quotes and lists, and of some runs of brackets: 100 KB of >
// took seconds, a list nested 3,000 deep minutes. A value over a limit is
// a problem of its page, naming the row; the build renders the rest and
// changes nothing.
type MarkdownConfig struct {
	// MaxSize is the most bytes of one value converted. If zero,
	// 1048576 (1 MiB).
	MaxSize int `toml:"max_size"`
	// MaxDepth is the deepest nesting of block quotes and list items,
	// as counted on each line that starts with a > or a list marker:
	// its > and list markers, plus its indent over two (but for the
	// space after each marker). If zero, 100.
	MaxDepth int `toml:"max_depth"`
	// Timeout is the longest the conversion of one value may take, as a
	// Go duration ("1s", "500ms"): the parser checks it as it goes, and
	// stops there. If empty, "1s".
	Timeout string `toml:"timeout"`
}

// SiteConfig is the [site] table.
type SiteConfig struct {
	Title     string `toml:"title"`
	BaseURL   string `toml:"base_url"`  // absolute URL prefix for feeds, sitemaps and absurl
	Output    string `toml:"output"`    // build folder; if empty, "_site"
	Templates string `toml:"templates"` // if empty, "templates"
	// Static are the static folders: "static" or ["static", "vendor"],
	// later ones overriding earlier ones. If empty, ["static"].
	Static StaticDirs `toml:"static"`
	// StaticURL is what {{static}} URLs start with: "/" (the default) or
	// a CDN's "https://cdn.example.org/". BAKE_STATIC_URL overrides it.
	StaticURL string `toml:"static_url"`
}

// Route kinds.
const (
	KindPage     = "page"
	KindList     = "list"
	KindDetail   = "detail"
	KindArchive  = "archive"
	KindFeed     = "feed"
	KindSitemap  = "sitemap"
	KindRedirect = "redirect"
	KindNotFound = "notfound"
)

// Route is one [[route]] entry: a SQL query, a path pattern and a template.
type Route struct {
	Name     string `toml:"name"`     // used by {{url "name" ...}}; if empty, the kind (or the path)
	Kind     string `toml:"kind"`     // page, list, detail, archive, feed, sitemap, redirect, notfound
	Path     string `toml:"path"`     // URL pattern: "/items/{slug}/"; {col} takes a column of the row
	Query    string `toml:"query"`    // the route's one query
	Template string `toml:"template"` // file in the templates folder
	Table    string `toml:"table"`    // table the rows come from, for deps; if empty, the first FROM of Query
	Key      string `toml:"key"`      // primary key column; if empty, "id"
	OrderBy  string `toml:"order_by"` // SQL order of rows within a page, group or archive
	PerPage  int    `toml:"per_page"` // list/archive: rows a page; if zero, all on one page
	GroupBy  string `toml:"group_by"` // list: one paginated list per value of this column
	// Pagination is how a paginated list numbers its pages: "numbered"
	// (the default: page 2 holds rows 51 to 100 of the order) or "stable"
	// (pages counted from the oldest end, each keeping its rows when rows
	// are added or removed elsewhere; see docs/incremental.md).
	Pagination string `toml:"pagination"`
	Date       string `toml:"date"`    // archive: date column; feed: item date column
	LastMod    string `toml:"lastmod"` // detail: column for the sitemap's lastmod

	// Queries are extra named queries run for each page; :col parameters
	// take the values of the page's row (detail) or group (list). Their
	// results are in .Data.NAME. A query here runs once per page: counted.
	Queries map[string]string `toml:"queries"`

	// Feed routes.
	Format  string      `toml:"format"` // "rss" (default) or "atom"
	Link    string      `toml:"link"`   // path pattern of an item's page: "/items/{slug}/"
	Title   string      `toml:"title"`  // feed title; if empty, the site title
	Columns FeedColumns `toml:"columns"`

	// Redirect routes: source → target, from the query (columns source and
	// target) or from this table.
	Redirects map[string]string `toml:"redirects"`

	// Sitemap routes.
	Exclude []string `toml:"exclude"` // path prefixes left out of the sitemap

	pattern *pattern // parsed Path
	keyCol  bool     // the query returns the Key column
	// tableDeps are the table deps of Query (sqlscan.Tables), worked out
	// once at load rather than for every list page; nil until then.
	tableDeps []bake.Dep

	shardWhere string // a shard's condition on the rows, "q.…" (see Site.ShardPages)
}

// FeedColumns names the columns a feed item is made of.
type FeedColumns struct {
	Title   string `toml:"title"`   // if empty, "title"
	Summary string `toml:"summary"` // plain-text summary; optional
	Content string `toml:"content"` // Markdown body, rendered to HTML; optional
	Author  string `toml:"author"`  // optional
}
