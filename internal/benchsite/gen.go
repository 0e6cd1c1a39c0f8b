package benchsite

import (
	"math/rand/v2"
	"strconv"
)

// words is the vocabulary of titles, headings and bodies.
var words = [...]string{
	"cache", "purge", "static", "flat", "page", "site", "build", "render",
	"template", "query", "row", "table", "index", "column", "feed", "sitemap",
	"bucket", "object", "upload", "publish", "deploy", "preview", "server", "proxy",
	"request", "response", "header", "status", "content", "type", "length", "hash",
	"manifest", "entry", "path", "route", "list", "detail", "archive", "month",
	"year", "day", "layout", "block", "define", "escape", "markup", "style",
	"script", "image", "asset", "bundle", "minify", "compress", "gzip", "brotli",
	"stream", "buffer", "write", "read", "file", "folder", "atomic", "rename",
	"swap", "old", "new", "fresh", "stale", "quick", "slow", "steady",
	"simple", "small", "large", "wide", "narrow", "deep", "shallow", "early",
	"late", "daily", "weekly", "edition", "story", "article", "author", "editor",
	"reader", "visitor", "traffic", "load", "peak", "quiet", "busy", "morning",
	"evening", "night", "newsroom", "desk", "draft", "review", "change", "update",
	"insert", "delete", "select", "order", "group", "limit", "offset", "count",
	"number", "total", "first", "last", "next", "previous", "link", "anchor",
	"title", "summary", "body", "paragraph", "heading", "word", "letter", "line",
	"city", "river", "harbor", "bridge", "market", "garden", "school", "library",
	"council", "budget", "plan", "vote", "result", "report", "season", "weather",
	"storm", "rain", "sun", "wind", "snow", "summer", "winter", "spring",
	"autumn", "green", "blue", "red", "golden", "silver", "bright", "dark",
	"open", "closed", "public", "private", "local", "remote", "central", "north",
	"south", "east", "west", "upper", "lower", "inner", "outer", "second",
	"third", "final", "careful", "gentle", "strong", "clear", "plain", "honest",
	"useful", "careless", "common", "rare", "modern", "classic", "version", "release",
	"feature", "issue", "patch", "fix", "test", "bench", "measure", "figure",
	"moment", "minute", "hour", "week", "machine", "core", "memory", "disk",
	"network", "packet", "client", "browser", "screen", "window", "button", "menu",
	"search", "filter", "sort", "tag", "label", "topic", "section", "chapter",
	"note", "comment", "answer", "question", "guide", "lesson", "example", "sample",
	"pattern", "shape", "color", "light", "shadow", "corner", "edge", "center",
	"always", "never", "often", "rarely", "quickly", "slowly", "gladly", "soon",
	"again", "also", "still", "only", "even", "just", "almost", "nearly",
}

// generator makes the rows of the items table. Row id's content depends only
// on the seed and the id, so a row inserted by Mutate is the row Populate
// would have made, and Populate's output does not depend on how it batches.
type generator struct {
	seed uint64
	src  rand.PCG
	r    *rand.Rand
}

func newGenerator(seed int64) *generator {
	g := &generator{seed: mix(uint64(seed))}
	g.r = rand.New(&g.src)
	return g
}

// mix is the splitmix64 finalizer: it spreads consecutive ids over the
// whole seed space.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// item is one generated row. Its text fields are offsets into the buffer
// the row was appended to.
type item struct {
	id                int64
	slug, title, body span
	category          string
	published         bool
}

// span is a byte range of a buffer.
type span struct{ start, end int }

// row appends the slug, title and body of row id to buf, and returns the
// grown buffer and the row, whose spans index into it.
func (g *generator) row(buf []byte, id int64) ([]byte, item) {
	g.src.Seed(g.seed, mix(uint64(id)))
	r := g.r
	it := item{id: id}

	s := len(buf)
	buf = append(buf, "item-"...)
	buf = strconv.AppendInt(buf, id, 10)
	it.slug = span{s, len(buf)}

	s = len(buf)
	buf = g.phrase(buf, 3+r.IntN(5))
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, id, 10)
	it.title = span{s, len(buf)}

	it.category = Categories[r.IntN(len(Categories))]
	it.published = r.IntN(10) != 0

	s = len(buf)
	buf = g.body(buf)
	it.body = span{s, len(buf)}
	return buf, it
}

// phrase appends n words, the first capitalized, separated by spaces.
func (g *generator) phrase(buf []byte, n int) []byte {
	for i := range n {
		if i > 0 {
			buf = append(buf, ' ')
		}
		w := words[g.r.IntN(len(words))]
		if i == 0 {
			buf = append(buf, w[0]-'a'+'A')
			w = w[1:]
		}
		buf = append(buf, w...)
	}
	return buf
}

// body appends about 2 KB of Markdown: paragraphs of 3 to 6 sentences,
// with a few "## " headings and **bold** words.
func (g *generator) body(buf []byte) []byte {
	r := g.r
	start := len(buf)
	target := 1850 + r.IntN(300)
	headings := 0
	for p := 0; ; p++ {
		if p > 0 {
			buf = append(buf, "\n\n"...)
			if p >= 2 && (r.IntN(3) == 0 || headings == 0) {
				buf = append(buf, "## "...)
				buf = g.phrase(buf, 2+r.IntN(3))
				buf = append(buf, "\n\n"...)
				headings++
			}
		}
		n := 3 + r.IntN(4)
		// Keep the last paragraph short enough to end near the target.
		if left := target - (len(buf) - start); left < n*70 {
			n = max(3, left/70)
		}
		for i := range n {
			if i > 0 {
				buf = append(buf, ' ')
			}
			buf = g.sentence(buf)
		}
		if len(buf)-start >= target-120 {
			break
		}
	}
	return buf
}

// sentence appends 6 to 14 words, capitalized, some in bold, with a full
// stop or a question mark.
func (g *generator) sentence(buf []byte) []byte {
	r := g.r
	n := 6 + r.IntN(9)
	comma := -1
	if n > 9 && r.IntN(2) == 0 {
		comma = 3 + r.IntN(n-6)
	}
	for i := range n {
		if i > 0 {
			buf = append(buf, ' ')
		}
		w := words[r.IntN(len(words))]
		bold := i > 0 && r.IntN(40) == 0
		if bold {
			buf = append(buf, "**"...)
		}
		if i == 0 {
			buf = append(buf, w[0]-'a'+'A')
			w = w[1:]
		}
		buf = append(buf, w...)
		if bold {
			buf = append(buf, "**"...)
		}
		if i == comma {
			buf = append(buf, ',')
		}
	}
	if r.IntN(12) == 0 {
		return append(buf, '?')
	}
	return append(buf, '.')
}

// Body returns the body of row id of the items table Populate makes with
// this seed (0 is the default seed, 1): the Markdown the benchmark renders.
func Body(seed, id int64) string {
	if seed == 0 {
		seed = Options{}.withDefaults().Seed
	}
	buf, it := newGenerator(seed).row(nil, id)
	return string(buf[it.body.start:it.body.end])
}
