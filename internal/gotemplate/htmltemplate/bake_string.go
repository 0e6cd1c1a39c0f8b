package template

// This file is bake's, not the standard library's: see
// internal/gotemplate/doc.go.

import (
	"strings"

	texttemplate "github.com/bakehq/bake/internal/gotemplate/texttemplate"
)

// The escapers of the HTML and URL contexts on a plain string: what each
// returns when its only argument is of type string, for which stringify
// returns the string and contentTypePlain. A compiled template
// (texttemplate/bake_compile.go) calls these on the string the previous
// command of a pipeline made, without making it an interface, a slice of
// arguments and a result value first: most actions of a page end in one
// or two of these escapers. FuzzStringEscapers checks each against its
// escaper on the same string.
var stringEscapers = []struct {
	escaper func(...any) string
	plain   func(string) string
}{
	{attrEscaper, htmlEscapeString},
	{htmlEscaper, htmlEscapeString},
	{rcdataEscaper, htmlEscapeString},
	{htmlNospaceEscaper, htmlNospaceEscapeString},
	{urlFilter, urlFilterString},
	{urlNormalizer, func(s string) string { return urlProcessString(true, s) }},
	{urlEscaper, func(s string) string { return urlProcessString(false, s) }},
	{htmlNameFilter, htmlNameFilterString},
	{commentEscaper, func(string) string { return "" }},
}

func init() {
	for _, e := range stringEscapers {
		texttemplate.RegisterStringFunc(e.escaper, e.plain)
	}
}

// htmlEscapeString is attrEscaper, htmlEscaper and rcdataEscaper on a
// plain string.
func htmlEscapeString(s string) string {
	return htmlReplacer(s, htmlReplacementTable, true)
}

func htmlNospaceEscapeString(s string) string {
	if s == "" {
		return filterFailsafe
	}
	return htmlReplacer(s, htmlNospaceReplacementTable, false)
}

func urlFilterString(s string) string {
	if !isSafeURL(s) {
		return "#" + filterFailsafe
	}
	return s
}

func urlProcessString(norm bool, s string) string {
	var b strings.Builder
	if processURLOnto(s, norm, &b) {
		return b.String()
	}
	return s
}

func htmlNameFilterString(s string) string {
	if len(s) == 0 {
		return filterFailsafe
	}
	s = strings.ToLower(s)
	if t := attrType(s); t != contentTypePlain {
		return filterFailsafe
	}
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9':
		case 'a' <= r && r <= 'z':
		default:
			return filterFailsafe
		}
	}
	return s
}
