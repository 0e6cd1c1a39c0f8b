package main

// County-by-county results and race summaries.

import (
	"fmt"
	"math"
	"slices"
	"time"
)

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func (g *gen) makeResults() {
	for _, r := range g.races {
		lean := func(c *county) float64 {
			if r.nonpartisan {
				return 0.3 * c.lean
			}
			return c.lean
		}
		// Per-county turnout for this race, and the third-party shares.
		type cv struct {
			c      *county
			voters float64
			noise  float64
			third  []float64
		}
		var cvs []cv
		for _, c := range r.counties {
			voters := float64(c.registered) * c.turnout * r.dropoff * (0.97 + 0.06*g.r.Float64())
			if r.date.Equal(specialDay) {
				voters *= 0.8
			}
			// Some counties are done, others lag.
			pct := 100
			if r.reporting < 100 {
				pct = min(100, int(float64(r.reporting)+g.norm(0, 100-float64(r.reporting))))
				if r.reporting >= 99 && g.r.IntN(3) > 0 {
					pct = 100
				}
			}
			voters *= float64(pct) / 100
			upd := r.updated.Add(-time.Duration(g.r.IntN(300)) * time.Minute)
			if pct == 100 && r.date.Equal(electionDay) {
				upd = electionDay.Add(time.Duration(20*60+30+g.r.IntN(300)) * time.Minute)
			}
			g.tallies = append(g.tallies, tally{r.id, c.id, pct, upd})
			x := cv{c: c, voters: voters, noise: g.norm(0, 0.08)}
			for range len(r.cands) - 2 {
				x.third = append(x.third, math.Max(0.004, g.norm(0.022, 0.008)))
			}
			cvs = append(cvs, x)
		}
		if len(r.cands) == 1 {
			for _, x := range cvs {
				v := int(x.voters * 0.78) // ballots that skip an uncontested race
				g.results = append(g.results, result{r.id, r.cands[0].id, x.c.id, v})
				r.cands[0].votes += v
			}
		} else {
			// Find the statewide shift that gives the target two-party margin.
			margin := func(off float64) float64 {
				var d, tot float64
				for _, x := range cvs {
					d += x.voters * sigmoid(lean(x.c)+off+x.noise)
					tot += x.voters
				}
				return 100 * (2*d/tot - 1)
			}
			lo, hi := -4.0, 4.0
			for range 80 {
				mid := (lo + hi) / 2
				if margin(mid) < r.margin {
					lo = mid
				} else {
					hi = mid
				}
			}
			off := (lo + hi) / 2
			for _, x := range cvs {
				rest := 1.0
				for i, s := range x.third {
					v := int(x.voters * s)
					g.results = append(g.results, result{r.id, r.cands[2+i].id, x.c.id, v})
					r.cands[2+i].votes += v
					rest -= s
				}
				d := sigmoid(lean(x.c) + off + x.noise)
				dv := int(x.voters * rest * d)
				rv := int(x.voters * rest * (1 - d))
				g.results = append(g.results, result{r.id, r.cands[0].id, x.c.id, dv}, result{r.id, r.cands[1].id, x.c.id, rv})
				r.cands[0].votes += dv
				r.cands[1].votes += rv
			}
		}
		byVotes := slices.Clone(r.cands)
		slices.SortStableFunc(byVotes, func(a, b *candidate) int { return b.votes - a.votes })
		for _, c := range r.cands {
			r.totalVotes += c.votes
		}
		r.leader = byVotes[0]
		r.leaderPct = 100 * float64(r.leader.votes) / float64(r.totalVotes)
		if len(byVotes) > 1 {
			r.runnerUp = byVotes[1]
			r.runnerPct = 100 * float64(r.runnerUp.votes) / float64(r.totalVotes)
		}
		if r.status == "called" || r.status == "uncontested" {
			r.leader.winner = true
		}
		r.summary = g.raceSummary(r)
	}
	slices.SortFunc(g.results, func(a, b result) int {
		if a.race != b.race {
			return a.race - b.race
		}
		if a.county != b.county {
			return a.county - b.county
		}
		return a.cand - b.cand
	})
}

func (g *gen) raceSummary(r *race) string {
	l, u := r.leader, r.runnerUp
	switch r.status {
	case "uncontested":
		return fmt.Sprintf("%s (%s) ran without a major-party opponent.", l.name, l.code)
	case "called":
		if l.incumbent {
			return fmt.Sprintf("%s (%s) wins another term, defeating %s by %.1f points.", l.name, l.code, u.name, r.leaderPct-r.runnerPct)
		}
		return fmt.Sprintf("%s (%s) defeats %s by %.1f points.", l.name, l.code, u.name, r.leaderPct-r.runnerPct)
	case "too close to call":
		return fmt.Sprintf("%s leads %s by %s votes with ballots still being counted.", l.last, u.last, commas(l.votes-u.votes))
	case "recount":
		return fmt.Sprintf("%s leads %s by %s votes, inside the margin for an automatic recount.", l.last, u.last, commas(l.votes-u.votes))
	default:
		return fmt.Sprintf("%s leads %s with %d%% of the expected vote counted.", l.last, u.last, r.reporting)
	}
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
