package sqlsite

import (
	"context"
	"fmt"
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
		groups := "1"
		if r.Kind == KindList && r.GroupBy != "" {
			groups = "COUNT(DISTINCT q." + r.GroupBy + ")" // named as the list's own queries name it
		}
		var rows, ngroups int64
		q := "SELECT COUNT(*), " + groups + " FROM (" + clean(r.Query) + ") AS q"
		if err := s.db.QueryRowContext(ctx, q).Scan(&rows, &ngroups); err != nil {
			return 0, fmt.Errorf("estimate pages: route %s: %w", r.Name, err)
		}
		if r.Kind == KindDetail {
			n += rows
		} else if r.PerPage > 0 {
			n += rows/int64(r.PerPage) + ngroups
		} else {
			n += ngroups
		}
	}
	return n, nil
}
