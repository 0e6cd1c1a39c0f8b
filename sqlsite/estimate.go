package sqlsite

import (
	"context"
	"fmt"
	"strings"
)

// EstimatePages guesses how many pages a full build makes, for a progress
// bar, with one COUNT query a detail or list route: a detail route's rows,
// a list's pages (of each group, when grouped), one page for every other
// route. Archives and static files count one each: a guess, not a plan.
func (s *Site) EstimatePages(ctx context.Context) (int64, error) {
	var n int64
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		switch r.Kind {
		case KindDetail, KindList:
		default:
			n++
			continue
		}
		q := "SELECT COUNT(*), 1 FROM (" + clean(r.Query) + ") AS q"
		if r.Kind == KindList && r.GroupBy != "" {
			q = "SELECT COUNT(*), COUNT(DISTINCT " + quoteIdent(r.GroupBy) + ") FROM (" + clean(r.Query) + ") AS q"
		}
		var rows, groups int64
		if err := s.db.QueryRowContext(ctx, q).Scan(&rows, &groups); err != nil {
			return 0, fmt.Errorf("estimate pages: route %s: %w", r.Name, err)
		}
		if r.Kind == KindDetail {
			n += rows
		} else if r.PerPage > 0 {
			n += rows/int64(r.PerPage) + groups
		} else {
			n += groups
		}
	}
	return n, nil
}

// quoteIdent quotes a column name for SQL ("" doubles a quote inside).
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
