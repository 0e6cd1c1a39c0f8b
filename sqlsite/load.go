package sqlsite

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake"
	"github.com/pelletier/go-toml/v2"
)

// ConfigFile is the name of the site definition inside a site folder.
const ConfigFile = "bake.toml"

// Problems is a list of errors found together, each a *bake.Error.
type Problems []error

// Error joins the problems, one a line.
func (p Problems) Error() string {
	msgs := make([]string, len(p))
	for i, e := range p {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the problems.
func (p Problems) Unwrap() []error { return p }

// LoadConfig reads and checks the bake.toml of the site folder dir. Unknown
// keys, wrong types and inconsistent routes are all reported at once, as
// [Problems] naming file and line. It knows only the site's tables; a
// program that keeps tables of its own in bake.toml uses [LoadConfigWith].
func LoadConfig(dir string) (*Config, error) {
	return LoadConfigWith(dir, LoadOptions{})
}

// LoadOptions are how [LoadConfigWith] reads bake.toml.
type LoadOptions struct {
	// Tables are the tables of bake.toml that the caller owns, not the
	// site (the command line's [database], [publish], [proxy]): each name
	// maps to a pointer to a struct, which the table is decoded into,
	// strictly, in the same pass as the site's tables, so that an unknown
	// key or a wrong value there is reported with the site's problems, in
	// line order.
	Tables map[string]any
	// Check, if set, checks the caller's tables once decoded; lineOf
	// returns the line of a key (0 if not found), for problems to name.
	Check func(lineOf func(key string) int) []error
}

// LoadConfigWith is [LoadConfig], decoding and checking the caller's
// tables of bake.toml too.
func LoadConfigWith(dir string, opts LoadOptions) (*Config, error) {
	file := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read site: no %s in %s; run bake in a site folder, pass -C DIR, or create one with bake new NAME", ConfigFile, dir)
		}
		return nil, fmt.Errorf("read site: %w", err)
	}
	cfg, probs := parseConfig(file, data, opts)
	// A route's template file that is missing is reported with the rest.
	if cfg != nil {
		seen := map[string]bool{}
		for i, r := range cfg.Routes {
			if r.Template == "" || seen[r.Template] {
				continue
			}
			seen[r.Template] = true
			p := filepath.Join(dir, cfg.Site.Templates, filepath.FromSlash(r.Template))
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				probs = append(probs, &bake.Error{File: file, Line: cfg.lines.route(i, "template"), Route: r.Name,
					Err: fmt.Errorf("template %s: no such file in %s", r.Template, filepath.Join(dir, cfg.Site.Templates))})
			}
		}
	}
	if len(probs) > 0 {
		return nil, byLine(probs)
	}
	return cfg, nil
}

// byLine sorts problems of one file by line.
func byLine(probs Problems) Problems {
	line := func(err error) int {
		var be *bake.Error
		if errors.As(err, &be) {
			return be.Line
		}
		return 0
	}
	slices.SortStableFunc(probs, func(a, b error) int { return line(a) - line(b) })
	return probs
}

// ParseConfig decodes and checks a site definition; file names it in errors.
// Every problem is reported at once: a value of the wrong type, an unknown
// key and an inconsistent route together (but for a syntax error, after
// which nothing can be read).
func ParseConfig(file string, data []byte) (*Config, error) {
	cfg, probs := parseConfig(file, data, LoadOptions{})
	if len(probs) > 0 {
		return nil, byLine(probs)
	}
	return cfg, nil
}

// parseConfig returns the problems of the definition and as much of it as
// could be decoded (nil after a syntax error).
func parseConfig(file string, data []byte, opts LoadOptions) (*Config, Problems) {
	var generic map[string]any
	if err := toml.Unmarshal(data, &generic); err != nil {
		return nil, decodeProblems(file, err) // a syntax error
	}
	// A value of the wrong type stops the decoder: each is reported and its
	// line blanked, and the rest decoded again, until none is left.
	var probs Problems
	reported := map[int]bool{}
	src := bytes.Clone(data)
	var cfg Config
	target := newTarget(opts.Tables)
	for range maxTypeErrors {
		v := target.new()
		dec := toml.NewDecoder(bytes.NewReader(src))
		dec.DisallowUnknownFields()
		err := dec.Decode(v.Interface())
		cfg = target.config(v)
		target.store(v, opts.Tables) // as much as was decoded, for the checks
		if err == nil {
			break
		}
		var strict *toml.StrictMissingError
		var de *toml.DecodeError
		if errors.As(err, &strict) || !errors.As(err, &de) {
			// Unknown keys come last, all in one error, once the rest
			// decoded (a StrictMissingError unwraps to a DecodeError per
			// key: taken for a wrong type, each would be reported again
			// at every round, N keys giving N(N+1)/2 problems).
			probs = append(probs, decodeProblems(file, err)...)
			break
		}
		row, _ := de.Position()
		if reported[row] {
			// Blanking the line did not take the value away (go-toml places
			// some errors, such as nested arrays, on another line).
			return nil, probs
		}
		probs = append(probs, decodeProblems(file, err)...)
		reported[row] = true
		if isHeader(src, row) || !blankLine(src, row) || toml.Unmarshal(src, &generic) != nil {
			// A table header would move its keys elsewhere, and a value over
			// several lines leaves what no longer parses: stop there.
			return nil, probs
		}
	}
	cfg.lines = newLineIndex(data)
	cfg.lines.blanked = reported
	checks := cfg.check(file, cfg.lines)
	if opts.Check != nil {
		for _, err := range opts.Check(cfg.lines.key) {
			var be *bake.Error
			if !errors.As(err, &be) {
				be = &bake.Error{Err: err}
			}
			if be.File == "" {
				be.File = file
			}
			checks = append(checks, be)
		}
	}
	for _, p := range checks {
		var be *bake.Error
		if errors.As(p, &be) && reported[be.Line] {
			continue // the value of that line was reported and left out
		}
		probs = append(probs, p)
	}
	return &cfg, probs
}

// target is what bake.toml is decoded into: the site's Config and the
// caller's tables (LoadOptions.Tables) as fields of one struct, so that
// the strict decoder knows every key at once.
type target struct {
	typ   reflect.Type
	names []string // of the caller's tables, in field order after Config
}

func newTarget(tables map[string]any) target {
	t := target{names: slices.Sorted(maps.Keys(tables))}
	fields := []reflect.StructField{{Name: "Config", Type: reflect.TypeFor[Config](), Anonymous: true}}
	for i, name := range t.names {
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Table%d", i),
			Type: reflect.TypeOf(tables[name]).Elem(), Tag: reflect.StructTag(`toml:"` + name + `"`)})
	}
	// The bake command's tables that the caller does not decode are taken
	// as they are: a library reading a site's bake.toml needs them not.
	for i, name := range commandTables {
		if _, ok := tables[name]; !ok {
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Command%d", i),
				Type: reflect.TypeFor[map[string]any](), Tag: reflect.StructTag(`toml:"` + name + `"`)})
		}
	}
	t.typ = reflect.StructOf(fields)
	return t
}

// commandTables are the tables of bake.toml that belong to the bake
// command, not to the site: [LoadConfig] accepts them without reading
// them, and the command decodes them (see [LoadOptions.Tables]).
var commandTables = [...]string{"database", "publish", "proxy", "jobs"}

// new returns a pointer to a zero value to decode into.
func (t target) new() reflect.Value { return reflect.New(t.typ) }

// config returns the site's part of a decoded value.
func (t target) config(v reflect.Value) Config { return v.Elem().Field(0).Interface().(Config) }

// store copies the caller's tables of a decoded value to theirs.
func (t target) store(v reflect.Value, tables map[string]any) {
	for i, name := range t.names {
		reflect.ValueOf(tables[name]).Elem().Set(v.Elem().Field(i + 1))
	}
}

// maxTypeErrors bounds the values of the wrong type reported at once.
const maxTypeErrors = 50

// isHeader reports whether line row (1-based) of data is a table header,
// [name] or [[name]].
func isHeader(data []byte, row int) bool {
	lines := bytes.SplitN(data, []byte("\n"), row+1)
	return row >= 1 && row <= len(lines) && bytes.HasPrefix(bytes.TrimSpace(lines[row-1]), []byte("["))
}

// blankLine replaces line row (1-based) of data with spaces; false if
// there is no such line.
func blankLine(data []byte, row int) bool {
	start := 0
	for n := 1; n < row; n++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return false
		}
		start += i + 1
	}
	end := len(data)
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		end = start + i
	}
	for i := start; i < end; i++ {
		data[i] = ' '
	}
	return true
}

func decodeProblems(file string, err error) Problems {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var probs Problems
		for i := range strict.Errors {
			de := &strict.Errors[i]
			row, _ := de.Position()
			probs = append(probs, &bake.Error{File: file, Line: row,
				Err: fmt.Errorf("unknown key %q; see docs/config.md for the keys bake.toml takes", strings.Join(de.Key(), "."))})
		}
		return probs
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		msg := de.Error()
		if m := typeMismatch.FindStringSubmatch(msg); m != nil && len(de.Key()) > 0 {
			msg = fmt.Sprintf("%s: a TOML %s, where bake.toml wants %s", strings.Join(de.Key(), "."), m[1], wantedType(m[2]))
		}
		return Problems{&bake.Error{File: file, Line: row, Err: errors.New(msg)}}
	}
	return Problems{&bake.Error{File: file, Err: err}}
}

// typeMismatch matches go-toml's message for a value of the wrong type.
var typeMismatch = regexp.MustCompile(`cannot decode TOML (\w+) into .* of type (\S+)$`)

// wantedType names a Go type of Config as a bake.toml value.
func wantedType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case goType == "string":
		return "a string (in quotes)"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array, [ ... ]"
	case strings.HasPrefix(goType, "map["):
		return "a table, { key = value } or [section]"
	}
	return "a " + goType
}

// lineIndex finds the lines of [[route]] headers and keys, so that checks
// made after decoding can still name a line.
type lineIndex struct {
	routes  []int        // line of each [[route]] header
	lines   [][]byte     // the file's lines
	blanked map[int]bool // lines left out for a value of the wrong type, reported
}

// blankedKey reports whether key of route i was left out for a value of
// the wrong type: a check that finds it missing has nothing to add.
func (li *lineIndex) blankedKey(i int, key string) bool {
	n := li.route(i, key)
	return li.blanked[n] && (i >= len(li.routes) || n != li.routes[i])
}

var routeHeader = regexp.MustCompile(`^\s*\[\[\s*route\s*\]\]`)

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{lines: bytes.Split(data, []byte("\n"))}
	for i, l := range li.lines {
		if routeHeader.Match(l) {
			li.routes = append(li.routes, i+1)
		}
	}
	return li
}

// route returns the line of route i's header, or of key inside it when found;
// 0 on a nil index (a Config not read from a file).
func (li *lineIndex) route(i int, key string) int {
	if li == nil || i >= len(li.routes) {
		return 0
	}
	start := li.routes[i]
	end := len(li.lines)
	if i+1 < len(li.routes) {
		end = li.routes[i+1] - 1
	}
	if key != "" {
		re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
		for n := start; n < end; n++ {
			if re.Match(li.lines[n]) {
				return n + 1
			}
		}
	}
	return start
}

// key returns the line where a top-level key is set, or 0 (on a nil index too).
func (li *lineIndex) key(key string) int {
	if li == nil {
		return 0
	}
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
	for n, l := range li.lines {
		if re.Match(l) {
			return n + 1
		}
	}
	return 0
}

var kinds = map[string]bool{KindPage: true, KindList: true, KindDetail: true, KindArchive: true,
	KindFeed: true, KindSitemap: true, KindRedirect: true, KindNotFound: true}

// check applies defaults and reports every inconsistency it finds.
func (c *Config) check(file string, li *lineIndex) Problems {
	var probs Problems
	add := func(line int, route string, format string, args ...any) {
		probs = append(probs, &bake.Error{File: file, Line: line, Route: route, Err: fmt.Errorf(format, args...)})
	}
	if c.Site.Output == "" {
		c.Site.Output = "_site"
	}
	if c.Site.Templates == "" {
		c.Site.Templates = "templates"
	}
	c.checkStatic(li, os.Getenv, add)
	for _, k := range []string{"output", "templates"} {
		v := map[string]string{"output": c.Site.Output, "templates": c.Site.Templates}[k]
		if filepath.IsAbs(v) && k != "output" || strings.Contains(filepath.ToSlash(v), "../") && k != "output" {
			add(li.key(k), "", "site.%s %q must be a folder inside the site folder", k, v)
		}
	}
	if c.Site.BaseURL != "" && !strings.HasPrefix(c.Site.BaseURL, "http://") && !strings.HasPrefix(c.Site.BaseURL, "https://") {
		add(li.key("base_url"), "", "site.base_url %q must be an absolute http(s) URL, like https://example.org", c.Site.BaseURL)
	}
	c.Site.BaseURL = strings.TrimSuffix(c.Site.BaseURL, "/")
	if c.Markdown.MaxSize < 0 {
		add(li.key("max_size"), "", "markdown.max_size must be zero (the default, 1 MiB) or more")
	}
	if c.Markdown.MaxDepth < 0 {
		add(li.key("max_depth"), "", "markdown.max_depth must be zero (the default, 100) or more")
	}
	if t := c.Markdown.Timeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d <= 0 {
			add(li.key("timeout"), "", "markdown.timeout %q: use a duration such as \"1s\" or \"500ms\"", t)
		}
	}
	for name, q := range c.Queries {
		if strings.TrimSpace(q) == "" {
			add(li.key(name), "", "query %q is empty", name)
		}
	}
	names := map[string]int{}
	paths := map[string]int{}
	for i := range c.Routes {
		r := &c.Routes[i]
		label := r.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		line := func(key string) int { return li.route(i, key) }
		bad := func(key, format string, args ...any) { add(line(key), label, format, args...) }
		if r.Kind == "" {
			if !li.blankedKey(i, "kind") {
				bad("", "kind is missing; one of page, list, detail, archive, feed, sitemap, redirect, notfound")
			}
			continue
		}
		if !kinds[r.Kind] {
			bad("kind", "unknown kind %q; one of page, list, detail, archive, feed, sitemap, redirect, notfound", r.Kind)
			continue
		}
		r.applyDefaults()
		if r.Name == "" {
			r.Name = r.Kind
		}
		label = r.Name
		if j, dup := names[r.Name]; dup {
			bad("name", "two routes are named %q (the other at line %d); give each a distinct name", r.Name, li.route(j, "name"))
		}
		names[r.Name] = i
		needs := func(key, val string) {
			if val == "" && !li.blankedKey(i, key) {
				bad("", "a %s route needs %s", r.Kind, key)
			}
		}
		unused := func(key string, set bool) {
			if set {
				bad(key, "%s is not used by a %s route", key, r.Kind)
			}
		}
		switch r.Kind {
		case KindPage, KindNotFound:
			needs("template", r.Template)
			unused("query", r.Query != "")
		case KindList, KindDetail, KindArchive:
			needs("template", r.Template)
			needs("query", r.Query)
		case KindFeed:
			needs("query", r.Query)
			needs("link", r.Link)
			unused("template", r.Template != "")
			if r.Format != "rss" && r.Format != "atom" {
				bad("format", "format %q: use rss or atom", r.Format)
			}
		case KindSitemap:
			unused("template", r.Template != "")
			unused("query", r.Query != "")
		case KindRedirect:
			unused("template", r.Template != "")
			if r.Query == "" && len(r.Redirects) == 0 && !li.blankedKey(i, "redirects") && !li.blankedKey(i, "query") {
				bad("", "a redirect route needs query (columns source, target) or redirects")
			}
		}
		if (r.Kind == KindFeed || r.Kind == KindSitemap) && c.Site.BaseURL == "" {
			bad("", "a %s route needs absolute URLs: set base_url in [site]", r.Kind)
		}
		if r.Kind != KindRedirect {
			needs("path", r.Path)
		} else {
			unused("path", r.Path != "")
			for from, to := range r.Redirects {
				if _, err := bake.FileName(from); err != nil {
					bad("redirects", "redirect from %q: %v", from, err)
				}
				if to == "" {
					bad("redirects", "redirect from %q has no target", from)
				}
			}
		}
		if r.GroupBy != "" && r.Kind == KindDetail {
			bad("group_by", "group_by is not used by a detail route, which makes one page per row: for one page per %s, use a list route with group_by = %q and path {%s} (per_page = 0 puts all of a group's rows on one page)", r.GroupBy, r.GroupBy, r.GroupBy)
		} else {
			unused("group_by", r.GroupBy != "" && r.Kind != KindList)
		}
		unused("per_page", r.PerPage != 0 && r.Kind != KindList && r.Kind != KindArchive)
		unused("date", r.Date != "" && r.Kind != KindArchive && r.Kind != KindFeed)
		unused("lastmod", r.LastMod != "" && r.Kind != KindDetail)
		unused("link", r.Link != "" && r.Kind != KindFeed)
		if r.PerPage < 0 {
			bad("per_page", "per_page must be zero (all rows on one page) or more")
		}
		if msg := r.checkPagination(); msg != "" {
			bad("pagination", "%s", msg)
		}
		if r.Kind == KindArchive && r.Date == "" {
			bad("", "an archive route needs date, the column its pages are grouped by")
		}
		if r.Path == "" {
			continue
		}
		r.Path = pagePath(r.Path) // /x/index.html is the page /x/
		pat, err := parsePattern(r.Path)
		if err != nil {
			bad("path", "path %q: %v", r.Path, err)
			continue
		}
		r.pattern = pat
		vars := pat.vars()
		switch r.Kind {
		case KindPage, KindNotFound, KindFeed, KindSitemap:
			if len(vars) > 0 {
				bad("path", "path %q: a %s route has one fixed path; {%s} has no row to take a value from", r.Path, r.Kind, vars[0])
			}
		case KindDetail:
			if len(vars) == 0 {
				bad("path", "path %q: a detail route makes one page per row, so its path needs a {column}, like /items/{slug}/", r.Path)
			}
		case KindList:
			want := []string(nil)
			if r.GroupBy != "" {
				want = []string{r.GroupBy}
			}
			if !slicesEqual(vars, want) {
				if r.GroupBy != "" {
					bad("path", "path %q: a list grouped by %s needs {%s} in its path, and no other column", r.Path, r.GroupBy, r.GroupBy)
				} else {
					bad("path", "path %q: {%s} needs group_by = %q", r.Path, vars[0], vars[0])
				}
			}
		case KindArchive:
			if !(slicesEqual(vars, []string{"year"}) || slicesEqual(vars, []string{"year", "month"}) || slicesEqual(vars, []string{"year", "month", "day"})) {
				bad("path", "path %q: an archive path takes {year}, {year}/{month} or {year}/{month}/{day}", r.Path)
			}
		}
		if (r.Kind == KindList || r.Kind == KindArchive) && r.PerPage > 0 && !strings.HasSuffix(r.Path, "/") {
			bad("path", "path %q: a paginated route's path must end in / (page 2 is at PATH/page/2/)", r.Path)
		}
		if len(vars) == 0 && r.Kind != KindDetail && r.Kind != KindArchive {
			if j, dup := paths[r.Path]; dup {
				bad("path", "path %q is also the path of route at line %d", r.Path, li.route(j, "path"))
			}
			paths[r.Path] = i
		}
	}
	return probs
}

func (r *Route) applyDefaults() {
	if r.Key == "" {
		r.Key = "id"
	}
	switch r.Kind {
	case KindPage:
		if r.Name == "" {
			r.Name = pageName(r.Path)
		}
	case KindFeed:
		if r.Format == "" {
			r.Format = "rss"
		}
		if r.Columns.Title == "" {
			r.Columns.Title = "title"
		}
		if r.Path == "" {
			r.Path = "/feed.xml"
			if r.Format == "atom" {
				r.Path = "/atom.xml"
			}
		}
		if r.Name == "" {
			r.Name = r.Format
		}
	case KindSitemap:
		if r.Path == "" {
			r.Path = "/sitemap.xml"
		}
	case KindNotFound:
		if r.Path == "" {
			r.Path = "/404.html"
		}
	}
	if r.Table == "" && r.Query != "" {
		r.Table = tableOf(r.Query)
	}
}

// pageName derives a route name from a fixed path: "/" is home, "/about/" about.
func pageName(path string) string {
	p := strings.Trim(path, "/")
	if p == "" {
		return "home"
	}
	return strings.ReplaceAll(strings.TrimSuffix(p, ".html"), "/", "-")
}

var fromTable = regexp.MustCompile(`(?is)\bfrom\s+("[^"]+"|[A-Za-z_][\w.]*)`)

// tableOf guesses the table a query reads from its first FROM clause.
func tableOf(query string) string {
	m := fromTable.FindStringSubmatch(query)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"`)
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
