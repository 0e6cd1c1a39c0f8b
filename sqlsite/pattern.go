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
// placeholders.
type pattern struct {
	src   string
	parts []part
}

type part struct {
	lit  string // literal text, when name is ""
	name string
}

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
		name := rest[i+1 : i+j]
		if !isIdent(name) {
			return nil, fmt.Errorf("{%s} is not a column name", name)
		}
		if n := len(p.parts); n > 0 && p.parts[n-1].name != "" {
			return nil, fmt.Errorf("{%s} follows another {column} with nothing between them", name)
		}
		p.parts = append(p.parts, part{name: name})
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

// segmentValue formats a column value as (part of) one path segment.
func segmentValue(v any) (string, error) {
	var s string
	switch v := v.(type) {
	case nil:
		return "", errors.New("value is NULL")
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case int:
		s = strconv.Itoa(v)
	case int32:
		s = strconv.FormatInt(int64(v), 10)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(v)
	case time.Time:
		s = v.UTC().Format("2006-01-02")
	default:
		s = fmt.Sprint(v)
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
