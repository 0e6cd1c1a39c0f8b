package main

// The news stories of the campaign and of election night.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

var reporters = []string{
	"Dana Whitcomb", "Luis Ferreira", "Ruth Adeyemi", "Colin Marsh", "Hana Sato", "Peter Lindahl",
	"Keisha Brooks", "Martin Ocampo",
}

func (g *gen) addArticle(a *article) {
	base := slugify(a.title)
	if len(base) > 72 {
		base = base[:strings.LastIndexByte(base[:72], '-')]
	}
	slug := base
	for i := 2; g.usedSlugs[slug]; i++ {
		slug = fmt.Sprintf("%s-%d", base, i)
	}
	g.usedSlugs[slug] = true
	a.slug = slug
	if a.author == "" {
		a.author = g.pick(reporters)
	}
	if a.publishedAt.IsZero() {
		panic("no date: " + a.title)
	}
	// Stories given only a day go up during the working day.
	if a.publishedAt.Equal(a.publishedAt.Truncate(24 * time.Hour)) {
		a.publishedAt = a.publishedAt.Add(time.Duration(6*60+g.r.IntN(14*60)) * time.Minute)
	}
	a.updated = a.publishedAt
	if g.r.IntN(5) == 0 {
		a.updated = a.publishedAt.Add(time.Duration(20+g.r.IntN(600)) * time.Minute)
	}
	a.published = !a.publishedAt.After(asOf)
	g.articles = append(g.articles, a)
}

func (g *gen) dateBetween(from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours() / 24)
	return from.AddDate(0, 0, g.r.IntN(days+1))
}

func (g *gen) makeArticles() {
	gov := g.byOffice["Governor"]
	sen := g.byOffice["U.S. Senate"]
	ag := g.byOffice["Attorney General"]
	key := []*race{gov, sen, ag, g.byOffice["Secretary of State"], g.byOffice["State Treasurer"], g.byOffice["Lieutenant Governor"]}

	// Campaign launches, 2025.
	for _, r := range g.races {
		if r.level == "Legislative" {
			continue
		}
		for _, c := range r.cands {
			if c.code != "D" && c.code != "R" && !r.nonpartisan {
				continue
			}
			from, to := day(2025, 2, 1), day(2025, 10, 31)
			if !r.featured {
				from = day(2025, 6, 1)
			}
			when := g.dateBetween(from, to)
			if c.incumbent {
				g.addArticle(&article{
					title:       fmt.Sprintf("%s will seek re-election as %s", c.name, officeTitle(r)),
					dek:         fmt.Sprintf("The %s incumbent made it official in %s, ending months of speculation.", strings.ToLower(partyAdj(c)), c.hometown),
					body:        g.launchBody(c, true),
					section:     section(r),
					race:        r,
					publishedAt: when,
				})
				continue
			}
			g.addArticle(&article{
				title:       fmt.Sprintf("%s launches bid for %s", c.name, officeTitle(r)),
				dek:         fmt.Sprintf("The %s %s is betting that %s will carry a %s race.", strings.ToLower(partyAdj(c)), strings.TrimPrefix(strings.TrimPrefix(c.job, "a "), "an "), c.issue, pick2(r.openSeat, "wide-open", "tough")),
				body:        g.launchBody(c, false),
				section:     section(r),
				race:        r,
				publishedAt: when,
			})
		}
	}

	// Primaries.
	for _, r := range g.races {
		if r.nonpartisan || r.level == "Legislative" {
			continue
		}
		for _, c := range r.cands[:min(2, len(r.cands))] {
			if c.code != "D" && c.code != "R" || c.incumbent && g.r.IntN(2) == 0 {
				continue
			}
			pct := 38 + g.r.IntN(40)
			g.addArticle(&article{
				title:       fmt.Sprintf("%s wins %s primary for %s", c.last, partyAdj(c), officeTitle(r)),
				dek:         fmt.Sprintf("%s took %d%% of the vote in a %d-way race and now turns to November.", c.name, pct, 2+g.r.IntN(3)),
				body:        g.primaryBody(c, pct),
				section:     section(r),
				race:        r,
				publishedAt: primaryDay.Add(time.Duration(23*60+g.r.IntN(120)) * time.Minute),
			})
		}
	}

	// Fundraising, every quarter in the two big races.
	for _, q := range []struct {
		name string
		date time.Time
	}{{"third quarter of 2025", day(2025, 10, 16)}, {"first quarter", day(2026, 4, 15)}, {"second quarter", day(2026, 7, 16)}, {"third quarter", day(2026, 10, 15)}} {
		for _, r := range []*race{gov, sen, ag} {
			a, b := r.cands[0], r.cands[1]
			if g.r.IntN(2) == 0 {
				a, b = b, a
			}
			ra := 0.6 + 2.4*g.r.Float64()
			rb := ra * (0.45 + 0.4*g.r.Float64())
			g.addArticle(&article{
				title:       fmt.Sprintf("%s outraises %s in the %s", a.last, b.last, q.name),
				dek:         fmt.Sprintf("Campaign finance reports show the %s race for %s drawing money from across the state.", pick2(r.featured, "marquee", "closely watched"), officeTitle(r)),
				body:        g.moneyBody(r, a, b, ra, rb, q.name),
				section:     section(r),
				race:        r,
				publishedAt: q.date.Add(time.Duration(15*60+g.r.IntN(180)) * time.Minute),
			})
		}
	}

	// Polls.
	pollsters := []string{"the Courier/New Essex State University poll", "a Harbor College survey", "a Kingsbury College poll", "a poll for the New Essex Farm Bureau"}
	for i := range 30 {
		r := key[i%3]
		when := g.dateBetween(day(2026, 2, 1), day(2026, 10, 30))
		d, rr := r.cands[0], r.cands[1]
		lead := r.margin + g.norm(0, 3)
		dp := 44 + lead/2 + g.norm(0, 1)
		rp := 44 - lead/2 + g.norm(0, 1)
		leader, trailer, lp, tp := d, rr, dp, rp
		if rp > dp {
			leader, trailer, lp, tp = rr, d, rp, dp
		}
		pollster := pollsters[i%len(pollsters)]
		title := fmt.Sprintf("%s poll: %s leads %s by %.0f points in race for %s", when.Format("January"), leader.last, trailer.last, math.Round(lp)-math.Round(tp), officeTitle(r))
		if math.Round(lp) == math.Round(tp) {
			title = fmt.Sprintf("%s poll finds %s and %s tied in race for %s", when.Format("January"), d.last, rr.last, officeTitle(r))
		} else if math.Round(lp)-math.Round(tp) == 1 {
			title = strings.Replace(title, "by 1 points", "by a single point", 1)
		}
		g.addArticle(&article{
			title:       title,
			dek:         fmt.Sprintf("%s puts %s at %.0f%% and %s at %.0f%%, with %d%% undecided.", capitalize(pollster), leader.last, lp, trailer.last, tp, int(100-lp-tp)),
			body:        g.pollBody(r, leader, trailer, lp, tp, pollster, when),
			section:     section(r),
			race:        r,
			publishedAt: when,
		})
	}

	// Debates.
	debateTowns := []string{"Port Alder", "Kettering", "Grayson"}
	for _, r := range []*race{gov, sen, ag} {
		for i, town := range debateTowns[:2] {
			when := day(2026, 9, 22).AddDate(0, 0, 14*i+g.r.IntN(5))
			g.addArticle(&article{
				title:       fmt.Sprintf("Takeaways from the %s %s debate in %s", pick2(i == 0, "first", "final"), r.title, town),
				dek:         fmt.Sprintf("%s and %s clashed over %s and %s.", r.cands[0].last, r.cands[1].last, r.cands[0].issue, r.cands[1].issue),
				body:        g.debateBody(r, town),
				section:     section(r),
				race:        r,
				publishedAt: when.Add(22*time.Hour + 30*time.Minute),
			})
		}
	}

	// Endorsements.
	groups := []string{"The New Essex Education Association", "The state Chamber of Commerce", "The New Essex AFL-CIO", "The Fraternal Order of Police", "The New Essex Farm Bureau", "Former Gov. Eleanor Haskins", "The Sierra Club's New Essex chapter", "The Port Alder Building Trades Council", "The New Essex Sheriffs' Association", "Mayor Teodoro Quintana of Port Alder"}
	for i, grp := range groups {
		r := key[i%len(key)]
		c := r.cands[g.r.IntN(2)]
		g.addArticle(&article{
			title:       fmt.Sprintf("%s endorses %s for %s", grp, c.last, officeTitle(r)),
			dek:         fmt.Sprintf("The endorsement gives %s a boost on %s.", c.name, c.issue),
			body:        g.endorseBody(r, c, grp),
			section:     section(r),
			race:        r,
			publishedAt: g.dateBetween(day(2026, 6, 15), day(2026, 10, 25)),
		})
	}

	// Issue stories: each race and issue at most once.
	type pair struct {
		r     *race
		issue string
	}
	var pairs []pair
	for _, r := range append(slices.Clone(key), g.houseRaces...) {
		for _, issue := range issues {
			if len(r.cands) >= 2 {
				pairs = append(pairs, pair{r, issue})
			}
		}
	}
	g.r.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	for _, p := range pairs[:60] {
		r, issue := p.r, p.issue
		g.addArticle(&article{
			title:       fmt.Sprintf("%s race: where %s and %s stand on %s", r.title, r.cands[0].last, r.cands[1].last, issue),
			dek:         fmt.Sprintf("The candidates agree that %s matters. They agree on little else.", issue),
			body:        g.issueBody(r, issue),
			section:     section(r),
			race:        r,
			publishedAt: g.dateBetween(day(2026, 3, 1), day(2026, 10, 28)),
		})
	}

	// Campaign notebook: short items from the trail.
	seen := map[string]bool{}
	for i := range 90 {
		r := key[g.r.IntN(len(key))]
		if i%3 == 2 {
			r = g.races[g.r.IntN(len(g.races))]
		}
		if len(r.cands) < 2 || r.date.Equal(specialDay) {
			continue
		}
		c := r.cands[g.r.IntN(2)]
		when := g.dateBetween(day(2025, 11, 1), day(2026, 11, 1))
		town := g.counties[g.r.IntN(len(g.counties))]
		n := notebook[g.r.IntN(len(notebook))]
		if seen[n.title+c.last] {
			continue
		}
		seen[n.title+c.last] = true
		g.addArticle(&article{
			title:       fmt.Sprintf(n.title, c.last, town.seat),
			dek:         fmt.Sprintf(n.dek, c.name, officeTitle(r)),
			body:        fmt.Sprintf(n.body, c.name, officeTitle(r), town.seat, town.name, c.last, raceLink(r)),
			section:     section(r),
			race:        r,
			publishedAt: when,
		})
	}

	// Before anyone had announced: late 2024.
	for i, s := range early {
		g.addArticle(&article{
			title:       s[0],
			dek:         s[1],
			body:        s[2],
			section:     pick2(i%2 == 0, "Governor", "Statewide"),
			race:        gov,
			publishedAt: day(2024, 11, 12).AddDate(0, 0, 9*i+g.r.IntN(6)),
		})
	}

	// County spotlights.
	spot := slices.Clone(g.counties)
	g.r.Shuffle(len(spot), func(i, j int) { spot[i], spot[j] = spot[j], spot[i] })
	for _, c := range spot[:30] {
		g.addArticle(&article{
			title:       fmt.Sprintf("In %s County, %s", c.name, g.pick([]string{"voters weigh a changing economy", "a bellwether braces for a close one", "the race for governor is personal", "turnout could decide everything", "the ballot is long and the lines are short", "candidates come knocking early"})),
			dek:         fmt.Sprintf("%s (pop. %s) has voted with the statewide winner in %d of the last %d races for governor.", c.seat, commas(c.population), 5+g.r.IntN(3), 8),
			body:        g.countyBody(c),
			section:     "Counties",
			county:      c,
			publishedAt: g.dateBetween(day(2025, 9, 1), day(2026, 10, 31)),
		})
	}

	// Explainers.
	for _, e := range explainers {
		g.addArticle(&article{title: e.title, dek: e.dek, body: e.body, section: "Voting", author: "Courier Staff", publishedAt: e.date})
	}

	// Race previews, October 2026.
	for _, r := range g.races {
		if r.date.Equal(specialDay) || len(r.cands) < 2 {
			continue
		}
		g.addArticle(&article{
			title:       fmt.Sprintf("Voter guide: the race for %s", officeTitle(r)),
			dek:         fmt.Sprintf("What to know about %s before you vote.", joinNames(r.cands)),
			body:        g.previewBody(r),
			section:     section(r),
			race:        r,
			publishedAt: g.dateBetween(day(2026, 10, 5), day(2026, 10, 24)),
		})
	}

	// Election night and after.
	g.addArticle(&article{
		title:       "Polls close across New Essex; first results expected within the hour",
		dek:         "Long lines were reported in Port Alder and Kettering, but election officials said voting went smoothly.",
		body:        electionNightBody,
		section:     "Voting",
		publishedAt: electionDay.Add(20*time.Hour + 5*time.Minute),
	})
	for _, r := range g.races {
		g.addArticle(g.resultArticle(r))
	}
	g.addArticle(&article{
		title:       "What we still don't know about the 2026 election in New Essex",
		dek:         "Several races remain too close to call. Here is where the count stands and what happens next.",
		body:        g.stillCountingBody(),
		section:     "Voting",
		publishedAt: asOf.Add(-90 * time.Minute),
	})
	// Drafts: written, not yet published.
	for _, r := range []*race{gov, g.byOffice["State Treasurer"], g.byOffice["Secretary of State"]} {
		g.addArticle(&article{
			title:       fmt.Sprintf("%s: the count, county by county", r.title),
			dek:         "DRAFT — hold until the race is called.",
			body:        "TK",
			section:     section(r),
			race:        r,
			publishedAt: asOf.AddDate(0, 0, 2),
		})
	}

	slices.SortStableFunc(g.articles, func(a, b *article) int { return a.publishedAt.Compare(b.publishedAt) })
	for i, a := range g.articles {
		a.id = i + 1
	}
	// Two stories were renamed after they went up; their old addresses redirect.
	n := 0
	for _, a := range g.articles {
		if a.race == gov && strings.Contains(a.title, "poll") && n < 2 {
			g.redirects = append(g.redirects, [2]string{"/news/" + a.slug + "-draft/", "/news/" + a.slug + "/"})
			n++
		}
	}
	g.redirects = append(g.redirects,
		[2]string{"/2026/", "/races/"},
		[2]string{"/election-night/", "/races/"},
		[2]string{"/voter-guide/", "/news/archive/2026/10/"},
	)
}
