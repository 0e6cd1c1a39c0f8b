package sqlsite

import (
	"maps"
	"time"
)

// at returns a copy of c whose queries (route queries, their named queries
// and the site-wide ones) read t for :now (see [withNow]); c is unchanged.
func (c *Config) at(t time.Time, dialect string) *Config {
	cc := *c
	cc.Queries = nowQueries(c.Queries, dialect, t)
	cc.Routes = make([]Route, len(c.Routes))
	for i, r := range c.Routes {
		r.Query = withNow(r.Query, dialect, t)
		r.Queries = nowQueries(r.Queries, dialect, t)
		cc.Routes[i] = r
	}
	return &cc
}

func nowQueries(qs map[string]string, dialect string, t time.Time) map[string]string {
	if qs == nil {
		return nil
	}
	out := maps.Clone(qs)
	for k, q := range out {
		out[k] = withNow(q, dialect, t)
	}
	return out
}
