package output

import (
	"strings"
	"unicode/utf8"

	"github.com/bakehq/bake"
)

// lineDeps returns the deps of an index line, as decodeLine(line).Deps
// does, without decoding the rest: an incremental update compares the old
// deps of every page it puts (1,900 pages after an insert at the top of a
// list of 100,000 rows, where decoding whole lines took a third of
// Index.Apply). It walks the top-level members of the object, skipping
// values, and falls back to encoding/json for anything it does not expect
// (escapes in the deps, a member it cannot skip).
func lineDeps(line string) ([]bake.Dep, error) {
	if deps, ok := scanLineDeps(line); ok {
		return deps, nil
	}
	e, err := decodeLine(line)
	return e.Deps, err
}

// scanLineDeps is the fast path of lineDeps: ok is false when the line is
// not the plain JSON object it expects.
func scanLineDeps(s string) (deps []bake.Dep, ok bool) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return nil, true
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return nil, false
		}
		end := plainStringEnd(s, i)
		if end < 0 {
			return nil, false // a key with escapes: not ours
		}
		key := s[i+1 : end-1]
		i = skipSpace(s, end)
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i = skipSpace(s, i+1)
		if key != "deps" && strings.EqualFold(key, "deps") {
			return nil, false // encoding/json matches keys without case
		}
		if key == "deps" {
			if strings.HasPrefix(s[i:], "null") {
				deps, i = nil, i+4
			} else {
				if deps, i = scanPlainStrings(s, i); i < 0 {
					return nil, false
				}
			}
		} else if i = skipValue(s, i); i < 0 {
			return nil, false
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case '}':
			if skipSpace(s, i+1) != len(s) {
				return nil, false
			}
			return deps, true
		default:
			return nil, false
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// plainStringEnd returns the index after the closing quote of the string
// that starts at s[i], or -1 if it holds a backslash or a control
// character, or does not end.
func plainStringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1
		case c == '\\' || c < 0x20:
			return -1
		}
	}
	return -1
}

// stringEnd is plainStringEnd allowing escapes.
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			j++
		case c < 0x20:
			return -1
		}
	}
	return -1
}

// scanPlainStrings reads an array of plain strings at s[i], returning them
// and the index after it (-1 if it is anything else).
func scanPlainStrings(s string, i int) ([]bake.Dep, int) {
	if i >= len(s) || s[i] != '[' {
		return nil, -1
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return []bake.Dep{}, i + 1
	}
	var out []bake.Dep
	for {
		if i >= len(s) || s[i] != '"' {
			return nil, -1
		}
		end := plainStringEnd(s, i)
		if end < 0 {
			return nil, -1
		}
		d := s[i+1 : end-1]
		if !utf8.ValidString(d) {
			return nil, -1 // encoding/json would replace the bad bytes
		}
		out = append(out, bake.Dep(d))
		i = skipSpace(s, end)
		if i >= len(s) {
			return nil, -1
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case ']':
			return out, i + 1
		default:
			return nil, -1
		}
	}
}

// skipValue returns the index after the JSON value at s[i], -1 if there
// is none. Nesting is followed by counting brackets outside strings; the
// value is not validated beyond that (json.Valid checked nothing here, but
// the lines are bake's own).
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				end := stringEnd(s, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
