package markdown

import (
	"bytes"
	"regexp"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// rawHTML is how the converter treats HTML in Markdown. Rows hold text
// that only looks like HTML ("Dear <NAME>", "a <b> tag", "x <y> z"): Markdown
// reads it as raw HTML, which goldmark, not trusting it, drops
// ("<!-- raw HTML omitted -->"), and the words are lost. Here such HTML is
// shown as the text it was written as: &lt;NAME&gt;. A few tags stay
// tags, because they are what people write in Markdown and cannot harm a
// page: the phrase elements of safeTags, without attributes, opened and
// closed within one paragraph (or heading, cell, link…), and <br>. A
// comment stays hidden, as before. The rest (attributes, <script>,
// <div>, a tag never closed) is text, so a page never carries HTML a row
// did not mean, or that would not validate.
type rawHTML struct{}

// safeTags are the elements passed through (as <name> and </name>).
var safeTags = map[string]bool{
	"b": true, "i": true, "em": true, "strong": true, "s": true, "del": true, "ins": true,
	"sub": true, "sup": true, "mark": true, "small": true, "kbd": true, "code": true,
	"var": true, "samp": true, "u": true, "q": true, "cite": true, "dfn": true, "abbr": true,
}

// plainTag matches a tag without attributes: <name>, </name>, <name/>.
var plainTag = regexp.MustCompile(`^<(/?)([A-Za-z][A-Za-z0-9]*)\s*(/?)>$`)

func (rawHTML) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithASTTransformers(util.Prioritized(rawHTML{}, 999)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(rawHTML{}, 100)))
}

// Transform marks the safe tags that balance: an opening tag and its
// closing tag children of one node, in order, and <br>.
func (rawHTML) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && n.HasChildren() {
			balance(n, src)
		}
		return ast.WalkContinue, nil
	})
}

// balance marks the safe tags among the children of parent whose opening
// and closing tags pair up, as a stack of open tags would.
func balance(parent ast.Node, src []byte) {
	type open struct {
		name string
		node ast.Node
	}
	var stack []open
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		raw, ok := c.(*ast.RawHTML)
		if !ok {
			continue
		}
		closing, name, void, ok := safeTag(rawText(raw, src))
		switch {
		case !ok:
		case void:
			raw.SetAttribute(attrKeep, true)
		case !closing:
			stack = append(stack, open{name, raw})
		default:
			// A closing tag closes the innermost open one of its name, and
			// those opened after it are left unmarked: text.
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].name == name {
					stack[i].node.SetAttribute(attrKeep, true)
					raw.SetAttribute(attrKeep, true)
					stack = stack[:i]
					break
				}
			}
		}
	}
}

// attrKeep is the attribute of a RawHTML node written as a tag.
var attrKeep = []byte("bake-keep")

// safeTag parses a tag of safeTags or <br>/<wbr> (void).
func safeTag(s []byte) (closing bool, name string, void, ok bool) {
	m := plainTag.FindSubmatch(s)
	if m == nil {
		return false, "", false, false
	}
	name = string(bytes.ToLower(m[2]))
	closing = len(m[1]) > 0
	if name == "br" || name == "wbr" {
		return false, name, true, !closing
	}
	return closing, name, false, safeTags[name] && len(m[3]) == 0
}

func rawText(n *ast.RawHTML, src []byte) []byte {
	var b []byte
	for i := range n.Segments.Len() {
		seg := n.Segments.At(i)
		b = append(b, seg.Value(src)...)
	}
	return b
}

func (rawHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, renderRawHTML)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
}

const omitted = "<!-- raw HTML omitted -->"

func renderRawHTML(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.RawHTML)
	s := rawText(n, src)
	switch {
	case bytes.HasPrefix(s, []byte("<!--")):
		w.WriteString(omitted)
	case hasKeep(n):
		closing, name, _, _ := safeTag(s)
		w.WriteByte('<')
		if closing {
			w.WriteByte('/')
		}
		w.WriteString(name)
		w.WriteByte('>')
	default:
		w.Write(util.EscapeHTML(s))
	}
	return ast.WalkSkipChildren, nil
}

func hasKeep(n ast.Node) bool {
	v, ok := n.Attribute(attrKeep)
	return ok && v == true
}

// renderHTMLBlock writes a block of HTML as a paragraph of its text (a
// comment as goldmark does: hidden).
func renderHTMLBlock(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.HTMLBlock)
	if n.HTMLBlockType == ast.HTMLBlockType2 { // <!-- comment -->
		if entering || n.HasClosure() {
			w.WriteString(omitted + "\n")
		}
		return ast.WalkContinue, nil
	}
	if !entering {
		return ast.WalkContinue, nil
	}
	var b []byte
	for i := range n.Lines().Len() {
		line := n.Lines().At(i)
		b = append(b, line.Value(src)...)
	}
	if n.HasClosure() {
		b = append(b, n.ClosureLine.Value(src)...)
	}
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) == 0 {
		return ast.WalkContinue, nil
	}
	w.WriteString("<p>")
	w.Write(util.EscapeHTML(b))
	w.WriteString("</p>\n")
	return ast.WalkContinue, nil
}
