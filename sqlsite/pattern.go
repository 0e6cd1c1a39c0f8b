package sqlsite

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pattern is a parsed path like "/items/{slug}/": literal text and {column}
// placeholders. A placeholder may slug its value, "/blocks/{block|slugify}/",
// as the slugify template function does ("Latin-1 Supplement" makes
// /blocks/latin-1-supplement/).
type pattern struct {
	src   string
	parts []part
}

type part struct {
	lit  string // literal text, when name is ""
	name string
	slug bool // {name|slugify}
}

// slugFilter is the one filter a placeholder takes: {column|slugify}.
const slugFilter = "slugify"

func parsePattern(s string) (*pattern, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, errors.New("must start with /")
	}
	p := &pattern{src: s}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return nil, errors.New("has a } without {")
			}
			p.parts = append(p.parts, part{lit: rest})
			break
		}
		if i > 0 {
			if strings.IndexByte(rest[:i], '}') >= 0 {
				return nil, errors.New("has a } without {")
			}
			p.parts = append(p.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, errors.New("has a { without }")
		}
		inner := rest[i+1 : i+j]
		name, filter, filtered := strings.Cut(inner, "|")
		name, filter = strings.TrimSpace(name), strings.TrimSpace(filter)
		if !isIdent(name) {
			return nil, fmt.Errorf("{%s} is not a column name", inner)
		}
		if filtered && filter != slugFilter {
			return nil, fmt.Errorf("{%s}: unknown filter %q: the one filter of a path is slugify, as in {%s|slugify}", inner, filter, name)
		}
		if n := len(p.parts); n > 0 && p.parts[n-1].name != "" {
			return nil, fmt.Errorf("{%s} follows another {column} with nothing between them", inner)
		}
		p.parts = append(p.parts, part{name: name, slug: filtered})
		rest = rest[i+j+1:]
	}
	lits := ""
	for _, pt := range p.parts {
		if pt.name != "" {
			lits += "x"
		}
		lits += pt.lit
	}
	if strings.Contains(lits, "//") || strings.Contains(lits, "/../") || strings.Contains(lits, "/./") {
		return nil, errors.New("has an empty, . or .. segment")
	}
	return p, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// vars returns the placeholder names in order.
func (p *pattern) vars() []string {
	var out []string
	for _, pt := range p.parts {
		if pt.name != "" {
			out = append(out, pt.name)
		}
	}
	return out
}

// fill builds a path, taking each placeholder's value from get. A value
// that is empty, NULL, or would add or remove a path segment is an error.
func (p *pattern) fill(get func(name string) (any, bool)) (string, error) {
	return p.fillWith(get, false)
}

// fillEscaped is fill with each value percent-escaped as a path segment
// (the pattern's own text is left as it is): a URL rather than a path.
func (p *pattern) fillEscaped(get func(name string) (any, bool)) (string, error) {
	return p.fillWith(get, true)
}

func (p *pattern) fillWith(get func(name string) (any, bool), escape bool) (string, error) {
	if len(p.parts) == 1 && p.parts[0].name == "" {
		return p.src, nil
	}
	var b strings.Builder
	for _, pt := range p.parts {
		if pt.name == "" {
			b.WriteString(pt.lit)
			continue
		}
		v, ok := get(pt.name)
		if !ok {
			return "", fmt.Errorf("path %s: no column %q", p.src, pt.name)
		}
		if pt.slug {
			s, err := slugSegment(v) // a-z, 0-9 and -: nothing to escape
			if err != nil {
				return "", fmt.Errorf("path %s: column %s: %w", p.src, pt.name, err)
			}
			b.WriteString(s)
			continue
		}
		s, err := segmentValue(v)
		if err != nil {
			return "", fmt.Errorf("path %s: column %s: %w", p.src, pt.name, err)
		}
		if escape {
			s = url.PathEscape(s)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// slugged reports whether a placeholder of p slugs its value.
func (p *pattern) slugged() bool {
	for _, pt := range p.parts {
		if pt.slug {
			return true
		}
	}
	return false
}

// alone reports whether placeholder i of p is a whole path segment, with
// / (or the end) on each side: its value is cut from a path without doubt.
func (p *pattern) alone(i int) bool {
	before := i == 0 || strings.HasSuffix(p.parts[i-1].lit, "/")
	after := i == len(p.parts)-1 || strings.HasPrefix(p.parts[i+1].lit, "/")
	return before && after
}

// valueText formats a column value as the text of a path (a date as
// 2006-01-02); false for NULL.
func valueText(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case []byte:
		return string(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int:
		return strconv.Itoa(v), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case time.Time:
		return v.UTC().Format("2006-01-02"), true
	}
	return fmt.Sprint(v), true
}

// segmentValue formats a column value as (part of) one path segment.
func segmentValue(v any) (string, error) {
	s, ok := valueText(v)
	if !ok {
		return "", errors.New("value is NULL")
	}
	switch {
	case s == "":
		return "", errors.New("value is empty")
	case s == "." || s == "..":
		return "", fmt.Errorf("value %q is not allowed in a path", s)
	case strings.ContainsAny(s, "/\\\x00"):
		return "", fmt.Errorf("value %q has a character not allowed in a path segment (/, \\ or NUL)", s)
	}
	return s, nil
}

// withPage returns the path of page n (n > 1) of a paginated path.
func withPage(base string, n int) string {
	if n <= 1 {
		return base
	}
	return base + "page/" + strconv.Itoa(n) + "/"
}
