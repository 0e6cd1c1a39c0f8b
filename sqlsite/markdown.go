package sqlsite

import (
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmtext "github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// newMarkdown returns the converter of the markdown template function:
// CommonMark with GitHub's extensions (tables, strikethrough, task lists,
// links made of bare URLs and e-mail addresses), typographic quotes and
// dashes, and ids on headings. Raw HTML is not passed through. Its
// parsers watch the deadline that convertWatched sets.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(quickLinkify{}, extension.Table, extension.Strikethrough, extension.TaskList, extension.Typographer),
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
