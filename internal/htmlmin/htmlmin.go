// Package htmlmin minifies rendered HTML pages with tdewolff/minify: blank
// lines, indentation and comments go, and so does the whitespace of inline
// CSS, JavaScript, JSON and SVG. The document's <html>, <head> and <body>
// and every end tag stay (bake serve puts its reload script before the
// last </body>), and so do attribute quotes, which keeps the output as
// easy to read in a diff as it can be.
//
// The output is a function of the input only: the same page gives the
// same bytes in every build, so an unchanged page is not written again and
// publish sends nothing for it.
package htmlmin

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/html"
	"github.com/tdewolff/minify/v2/js"
	"github.com/tdewolff/minify/v2/json"
	"github.com/tdewolff/minify/v2/svg"
)

// Minifier minifies HTML. It is safe for concurrent use.
type Minifier struct {
	m *minify.M
}

// New returns a Minifier.
func New() *Minifier {
	m := minify.New()
	m.Add("text/html", &html.Minifier{
		KeepDocumentTags:        true,
		KeepEndTags:             true,
		KeepQuotes:              true,
		KeepConditionalComments: false,
		KeepSpecialComments:     true, // licence notes (<!--! ... -->)
	})
	m.AddFunc("text/css", css.Minify)
	m.AddFuncRegexp(regexp.MustCompile(`^(application|text)/(x-)?(java|ecma)script$`), js.Minify)
	m.AddFuncRegexp(regexp.MustCompile(`^(application/(ld\+)?json|importmap|speculationrules)$`), json.Minify)
	m.AddFunc("image/svg+xml", svg.Minify)
	return &Minifier{m: m}
}

// Append appends the minified form of page, an HTML document, to dst and
// returns the result.
func (mf *Minifier) Append(dst []byte, page []byte) ([]byte, error) {
	b := bytes.NewBuffer(dst)
	b.Grow(len(page))
	if err := mf.m.Minify("text/html", b, bytes.NewReader(page)); err != nil {
		return nil, fmt.Errorf("minify html: %w", err)
	}
	return b.Bytes(), nil
}
