package sqlsite

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// slug is what the slugify template function and a {column|slugify}
// placeholder make of a text: its letters and digits, lowercased, without
// their accents (NFKD, combining marks dropped), and each run of anything
// else between two of them made one "-". Only a-z, 0-9 and - remain: a
// value with no ASCII letter or digit ("日本", "—") makes "".
func slug(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			dash = false
		case unicode.Is(unicode.Mn, r):
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// maxSegment is the longest path segment bake writes (bake.FileName).
const maxSegment = 255

// slugSegment returns the slug of a value for a {column|slugify}
// placeholder, or an error saying why it cannot be one: NULL, no letter or
// digit to keep (a path would have an empty segment, /blocks//), or a slug
// longer than a path segment may be.
func slugSegment(v any) (string, error) {
	s, ok := valueText(v)
	if !ok {
		return "", fmt.Errorf("value is NULL")
	}
	out := slug(s)
	switch {
	case out == "":
		return "", fmt.Errorf("value %q slugs to nothing (slugify keeps only the letters a-z and digits 0-9, accents dropped): give the row a value with one, or filter it out in the query", s)
	case len(out) > maxSegment:
		return "", fmt.Errorf("the slug of value %.40q… is %d bytes long, more than the %d bytes of a path segment", s, len(out), maxSegment)
	}
	return out, nil
}

// errSlugCollision is wrapped by the error of two groups of a list whose
// values slug alike.
var errSlugCollision = errors.New("slug alike")

// slugCollision is the problem of group b of grouped list r, whose slugged
// path base is that of group a: two pages at one path.
func slugCollision(r *Route, base string, a, b any) error {
	return fmt.Errorf("two pages have this path, %s: %s values %s and %s %w; make them one value in the query, or the path pattern unique",
		base, r.GroupBy, quoteValue(a), quoteValue(b), errSlugCollision)
}

func quoteValue(v any) string {
	s, _ := valueText(v)
	return strconv.Quote(s)
}

// slugGroup returns the value of the group of grouped list r whose
// slugged path is base: the one value of the query's group_by column that
// makes it (SQL has no slugify to agree with: the values are compared
// here). The error wraps sql.ErrNoRows when no value does, and
// errSlugCollision when two do.
func (u *updateRun) slugGroup(r *Route, base string) (any, error) {
	rows, err := u.site.db.QueryContext(u.b.ctx, "SELECT DISTINCT q."+r.GroupBy+" FROM ("+clean(r.Query)+") AS q ORDER BY 1")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found []any
	for rows.Next() {
		var g any
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		if bs, ok := g.([]byte); ok {
			g = string(bs)
		}
		if p, err := r.pattern.fill(func(string) (any, bool) { return g, true }); err == nil && p == base {
			found = append(found, g)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, sql.ErrNoRows
	case 1:
		return found[0], nil
	}
	return nil, slugCollision(r, base, found[0], found[1])
}
