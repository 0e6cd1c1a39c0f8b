package markdown

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	gmtext "github.com/yuin/goldmark/text"
)

// Limit names a limit of [Options].
type Limit int

// The limits a [LimitError] names.
const (
	LimitSize            Limit = iota + 1 // Options.MaxSize
	LimitDepth                            // Options.MaxDepth
	LimitLinkDefinitions                  // 10,000 lines that define links
	LimitTimeout                          // Options.Timeout
)

// LimitError is the error of a value past a limit of a [Renderer].
type LimitError struct {
	Limit Limit
	// Value is what src has of what Limit bounds: its size in bytes, its
	// nesting, or its lines that define links (0 for LimitTimeout).
	Value int
	// Max is the limit (bytes, depth or lines; 0 for LimitTimeout).
	Max int
	// Line is the line (from 1) where the nesting reaches Value, for
	// LimitDepth.
	Line int
	// Timeout is the time the conversion was stopped after, for
	// LimitTimeout.
	Timeout time.Duration
}

// Error says which limit the value is past.
func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitSize:
		return fmt.Sprintf("the value is %d bytes, more than the limit (%d)", e.Value, e.Max)
	case LimitDepth:
		return fmt.Sprintf("line %d nests quotes or lists %d deep, more than the limit (%d)", e.Line, e.Value, e.Max)
	case LimitLinkDefinitions:
		return fmt.Sprintf("%d lines define links ([label]: url), more than %d", e.Value, e.Max)
	case LimitTimeout:
		return fmt.Sprintf("conversion stopped after %v (a value that takes this long is made of deeply nested or unclosed brackets, quotes or lists)", e.Timeout)
	}
	return fmt.Sprintf("markdown limit %d", e.Limit)
}

// maxLinkDefinitions bounds the lines of a value that may define links
// ([label]: url): goldmark takes time that grows with the square of
// their number in one paragraph (10,000 take about 0.1 s, 100,000 many
// seconds), in a step that the deadline of a conversion cannot stop.
const maxLinkDefinitions = 10000

// nesting returns an upper bound of the nesting of block quotes and list
// items in src, and the line (from 1) where it is reached; and the number
// of lines that may define a link: those whose text, after the markers,
// starts with [ and holds "]:". Each container
// is opened on a line that starts with its marker (> or a list marker,
// after the markers and indent of the containers it is in), and a line is
// inside at most one container per > or list marker before its text, plus
// one per two columns of indent besides the space after each marker (a
// list item's content is indented by two columns at least). Lines that start with no marker open nothing and are
// not counted: an indented code block or paragraph is as deep as the
// containers its first line was in.
func nesting(src string) (depth, line, defs int) {
	n := 0
	for len(src) > 0 {
		n++
		l := src
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			l, src = src[:i], src[i+1:]
		} else {
			src = ""
		}
		cols, markers := 0, 0
		i := 0
	prefix:
		for i < len(l) {
			switch c := l[i]; {
			case c == ' ':
				cols++
				i++
			case c == '\t':
				cols += 4
				i++
			case c == '>':
				markers++
				i = skipSpace(l, i+1)
			case c == '-' || c == '+' || c == '*':
				if i+1 < len(l) && l[i+1] != ' ' && l[i+1] != '\t' {
					break prefix
				}
				markers++
				i = skipSpace(l, i+1)
			case '0' <= c && c <= '9':
				j := i
				for j < len(l) && j-i < 9 && '0' <= l[j] && l[j] <= '9' {
					j++
				}
				if j == len(l) || l[j] != '.' && l[j] != ')' || j+1 < len(l) && l[j+1] != ' ' && l[j+1] != '\t' {
					break prefix
				}
				markers++
				i = skipSpace(l, j+1)
			default:
				break prefix
			}
		}
		if d := markers + cols/2; markers > 0 && d > depth {
			depth, line = d, n
		}
		if i < len(l) && l[i] == '[' && strings.Contains(l[i:], "]:") {
			defs++
		}
	}
	return depth, line, defs
}

// skipSpace skips the space or tab at l[i], if there is one: the space
// after a marker belongs to it.
func skipSpace(l string, i int) int {
	if i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		return i + 1
	}
	return i
}

// watchKey holds a conversion's *watch in its parser.Context.
var watchKey = parser.NewContextKey()

// watch is the deadline of one conversion. The parsers that newGoldmark
// adds in front of goldmark's (watchBlocks, watchInlines, and
// linkifyFilter) look at it as goldmark calls them, at every line, every
// level of nesting and every bracket, emphasis or space, and stop the
// conversion past it: goldmark cannot be interrupted otherwise, and a
// conversion left running on a goroutine of its own would burn a core
// for minutes after its page gave up.
type watch struct {
	deadline time.Time
	calls    int
}

// conversionStopped is the panic that stops a conversion past its
// deadline; convertWatched recovers it.
type conversionStopped struct{}

// checkWatch stops the conversion of pc if its deadline has passed,
// looking at the clock every 64 calls.
func checkWatch(pc parser.Context) {
	w, ok := pc.Get(watchKey).(*watch)
	if !ok {
		return
	}
	w.calls++
	if w.calls&63 == 0 && time.Now().After(w.deadline) {
		panic(conversionStopped{})
	}
}

// convertWatched converts src with md into w, stopping after timeout.
func convertWatched(md goldmark.Markdown, src string, w io.Writer, timeout time.Duration) (err error) {
	pc := parser.NewContext()
	pc.Set(watchKey, &watch{deadline: time.Now().Add(timeout)})
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(conversionStopped); !ok {
				panic(r)
			}
			err = &LimitError{Limit: LimitTimeout, Timeout: timeout}
		}
	}()
	if err := md.Convert([]byte(src), w, parser.WithContext(pc)); err != nil {
		return fmt.Errorf("render markdown: %w", err)
	}
	return nil
}

// watchBlocks is a block parser that opens nothing: goldmark tries it
// first at every line and every level of nesting, and it checks the
// conversion's deadline.
type watchBlocks struct{}

// everyByte makes watchBlocks the first parser tried whatever a line
// starts with (parsers that name no byte are tried last).
var everyByte = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

func (watchBlocks) Trigger() []byte { return everyByte }
func (watchBlocks) Open(_ ast.Node, _ gmtext.Reader, pc parser.Context) (ast.Node, parser.State) {
	checkWatch(pc)
	return nil, parser.NoChildren
}
func (watchBlocks) Continue(ast.Node, gmtext.Reader, parser.Context) parser.State {
	return parser.Close
}
func (watchBlocks) Close(ast.Node, gmtext.Reader, parser.Context) {}
func (watchBlocks) CanInterruptParagraph() bool                   { return true }
func (watchBlocks) CanAcceptIndentedLine() bool                   { return true }

// watchInlines is an inline parser that parses nothing: goldmark tries it
// first at every bracket, emphasis, code span or angle bracket (the
// linkify filter checks at spaces), and it checks the deadline.
type watchInlines struct{}

func (watchInlines) Trigger() []byte { return []byte("![]`<*_~") }
func (watchInlines) Parse(_ ast.Node, _ gmtext.Reader, pc parser.Context) ast.Node {
	checkWatch(pc)
	return nil
}
