// Package markdown converts Markdown to HTML: CommonMark with GitHub's
// extensions, through goldmark, with a fast path of its own for plain
// prose, and limits (size, nesting, link definitions, time) so that no
// value can stall its caller.
//
// A [Renderer] is made once with its [Options] and used from any number
// of goroutines:
//
//	r := markdown.New(markdown.Options{})
//	var b strings.Builder
//	if err := r.Render(&b, src); err != nil {
//		// a *LimitError, when src is past a limit
//	}
package markdown

import (
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmtext "github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// The limits of [Options] when its fields are zero.
const (
	DefaultMaxSize  = 1 << 20
	DefaultMaxDepth = 100
	DefaultTimeout  = time.Second
)

// Options are the limits of a [Renderer]. Goldmark's parser takes time
// that grows with the square of the nesting of quotes and lists, and of
// some runs of brackets: 100 KB of > took seconds, a list nested 3,000
// deep minutes. A value past a limit is refused with a [*LimitError].
type Options struct {
	// MaxSize is the most bytes of one value converted. If zero,
	// 1048576 (1 MiB).
	MaxSize int
	// MaxDepth is the deepest nesting of block quotes and list items,
	// as counted on each line that starts with a > or a list marker:
	// its > and list markers, plus its indent over two (but for the
	// space after each marker). If zero, 100.
	MaxDepth int
	// Timeout is the longest the conversion of one value may take: the
	// parser checks it as it goes, and stops there. If zero, 1s.
	Timeout time.Duration
}

// Renderer converts Markdown to HTML within the limits of its [Options].
// It is safe for concurrent use.
type Renderer struct {
	md   goldmark.Markdown
	opts Options // defaults applied
}

// New returns a Renderer with the limits of opts.
func New(opts Options) *Renderer {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Renderer{md: newGoldmark(), opts: opts}
}

// Options returns the limits of r, defaults applied.
func (r *Renderer) Options() Options { return r.opts }

// Render appends the HTML of the Markdown src to dst. It returns a
// [*LimitError] when src is past a limit of r's [Options]: bigger than
// MaxSize, nested deeper than MaxDepth, with more than 10,000 lines that
// define links, or taking goldmark longer than Timeout. The nesting is
// checked first, so that such a value is refused at once: goldmark's time
// grows with the square of it. On an error, dst may hold part of the
// HTML.
//
// Plain prose (paragraphs, ATX headings, **strong**, apostrophes: see
// fastMarkdown) is converted by bake itself, byte for byte as goldmark
// would, in a tenth of goldmark's time; the rest goes to goldmark.
func (r *Renderer) Render(dst *strings.Builder, src string) error {
	if len(src) > r.opts.MaxSize {
		return &LimitError{Limit: LimitSize, Value: len(src), Max: r.opts.MaxSize}
	}
	if dst.Len() == 0 {
		dst.Grow(len(src) + len(src)/4)
		if fastMarkdown(dst, src) {
			return nil
		}
		dst.Reset()
	} else {
		var b strings.Builder
		b.Grow(len(src) + len(src)/4)
		if fastMarkdown(&b, src) {
			dst.WriteString(b.String())
			return nil
		}
	}
	depth, line, defs := nesting(src)
	if depth > r.opts.MaxDepth {
		return &LimitError{Limit: LimitDepth, Value: depth, Max: r.opts.MaxDepth, Line: line}
	}
	if defs > maxLinkDefinitions {
		return &LimitError{Limit: LimitLinkDefinitions, Value: defs, Max: maxLinkDefinitions}
	}
	if err := convertWatched(r.md, src, dst, r.opts.Timeout); err != nil {
		return err
	}
	return nil
}

// newGoldmark returns the converter a Renderer hands what is not plain
// prose: CommonMark with GitHub's extensions (tables, strikethrough, task
// lists, links made of bare URLs and e-mail addresses), typographic quotes
// and dashes, and ids on headings. Raw HTML is shown as text but for a
// few tags and comments (see rawHTML). Its parsers watch the deadline that
// convertWatched sets.
func newGoldmark() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(quickLinkify{}, rawHTML{}, extension.Table, extension.Strikethrough, extension.TaskList, extension.Typographer),
		goldmark.WithParserOptions(parser.WithAutoHeadingID(),
			parser.WithBlockParsers(util.Prioritized(watchBlocks{}, 0)),
			parser.WithInlineParsers(util.Prioritized(watchInlines{}, 0))))
}

// quickLinkify is goldmark's Linkify extension (part of extension.GFM),
// with a filter in front of its parser: that parser is called at every
// space of the text, and spent about a fifth of the time of converting a
// page of prose finding that the next word is no link.
type quickLinkify struct{}

func (quickLinkify) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithInlineParsers(
		util.Prioritized(linkifyFilter{extension.NewLinkifyParser()}, 999), // Linkify's priority
	))
}

// linkifyFilter forwards only Trigger and Parse: mayLink knows what the
// default LinkifyConfig links, so options set through
// goldmark.WithParserOptions (other protocols, other regexps) would not
// reach the parser, and must not be added without changing mayLink.
type linkifyFilter struct{ parser.InlineParser }

func (f linkifyFilter) Parse(parent ast.Node, block gmtext.Reader, pc parser.Context) ast.Node {
	checkWatch(pc) // called at every space: see watch
	line, _ := block.PeekLine()
	if !mayLink(line) {
		return nil
	}
	return f.InlineParser.Parse(parent, block, pc)
}

// mayLink reports whether goldmark's linkify parser could find a link at
// the start of line, after the one trigger character it skips. It is true
// for every line that parser links (so the filter changes no output), and
// false for almost every word of prose: a URL it links starts with http:,
// https:, ftp: or www., and an e-mail address has its @ within the first
// 65 bytes, with no space before it.
func mayLink(line []byte) bool {
	if len(line) > 0 {
		switch line[0] {
		case ' ', '*', '_', '~', '(':
			line = line[1:]
		}
	}
	if len(line) == 0 {
		return false
	}
	switch line[0] {
	case 'h', 'f', 'w':
		return true
	}
	for _, c := range line[:min(len(line), 65)] {
		switch c {
		case '@':
			return true
		case ' ', '\t', '\n', '\r', '\v', '\f':
			return false
		}
	}
	return false
}
