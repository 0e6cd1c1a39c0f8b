package main

// The text of the stories: helpers and one body per kind of story.

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func pick2(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func joinNames(cs []*candidate) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.name)
	}
	if len(names) <= 2 {
		return strings.Join(names, " and ")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func officeTitle(r *race) string {
	if r.level == "Statewide" {
		return strings.ToLower(r.title) // "the race for attorney general"
	}
	return r.title
}

func partyAdj(c *candidate) string {
	if c.code == "NP" {
		return "nonpartisan"
	}
	return c.party
}

func section(r *race) string {
	switch r.level {
	case "Federal":
		return "Congress"
	case "Legislative":
		return "Legislature"
	case "Judicial":
		return "Courts"
	}
	if r.office == "Governor" {
		return "Governor"
	}
	return "Statewide"
}

func raceLink(r *race) string { return "/races/" + r.slug + "/" }

func candLink(c *candidate) string { return "/candidates/" + c.slug + "/" }

func (g *gen) quote(c *candidate) string {
	return g.pick([]string{
		"People in this state are working harder than ever and falling further behind. That is what this race is about.",
		"I'm not running against anybody. I'm running for the families who feel like Port Alder forgot them.",
		"We can disagree about a lot, but we ought to agree that the roads shouldn't fall apart under our feet.",
		"Every county, every town. I'm going to outwork everybody in this race.",
		"My opponent has had years to fix this and hasn't. I'll get it done in the first hundred days.",
		"This campaign is about " + c.issue + ", and I'm going to talk about it until the polls close.",
		"I've spent my whole life here. I know what it costs to fill a tank of gas and a grocery cart.",
		"Voters are smart. They can tell the difference between a plan and a slogan.",
	})
}

func (g *gen) launchBody(c *candidate, incumbent bool) string {
	r := c.race
	var b strings.Builder
	if incumbent {
		fmt.Fprintf(&b, "%s announced %s bid for re-election on %s, telling supporters at a rally in %s that %s \"isn't finished yet.\"\n\n", c.name, c.possesive, g.pick([]string{"a cold morning", "a rainy afternoon", "a packed Saturday", "a weekday evening"}), c.hometown, c.pronoun)
	} else {
		fmt.Fprintf(&b, "%s, %s from %s, entered the race for %s on %s, promising a campaign focused on %s.\n\n", c.name, c.job, c.hometown, officeTitle(r), g.pick([]string{"Tuesday", "Wednesday", "Thursday", "Monday", "Saturday"}), c.issue)
	}
	fmt.Fprintf(&b, "> %s\n\n", g.quote(c))
	fmt.Fprintf(&b, "%s %s\n\n", capitalize(c.pronoun), g.pick([]string{
		"plans to visit all 60 counties before the June primary, starting with a bus tour of the North Woods.",
		"said the campaign had raised more than $400,000 in its first 48 hours, a figure that could not be independently verified.",
		"named a campaign manager who ran two successful congressional campaigns in the River Valley.",
		"faces at least one primary challenger, and party leaders have so far stayed neutral.",
	}))
	if r.openSeat {
		fmt.Fprintf(&b, "The seat is open for the first time in eight years, and strategists in both parties expect one of the most expensive races in state history.\n\n")
	} else {
		fmt.Fprintf(&b, "Political observers expect a competitive race. %s\n\n", g.pick([]string{
			"The state has split its votes between the parties in each of the last three elections.",
			"Turnout in the suburbs around Port Alder is likely to decide it.",
			"Rural turnout, which fell sharply in 2022, is the great unknown.",
		}))
	}
	fmt.Fprintf(&b, "Read more about [%s](%s) and follow the [race for %s](%s).\n", c.name, candLink(c), officeTitle(r), raceLink(r))
	return b.String()
}

func (g *gen) primaryBody(c *candidate, pct int) string {
	r := c.race
	var b strings.Builder
	fmt.Fprintf(&b, "%s won the %s nomination for %s on Tuesday, taking %d%% of the vote according to unofficial returns.\n\n", c.name, partyAdj(c), officeTitle(r), pct)
	fmt.Fprintf(&b, "Speaking to supporters in %s, %s promised to unite the party for the general election.\n\n", c.hometown, c.last)
	fmt.Fprintf(&b, "> %s\n\n", g.quote(c))
	fmt.Fprintf(&b, "Turnout was %s, with about %d%% of registered voters casting a ballot. %s\n\n", g.pick([]string{"light", "modest", "higher than expected"}), 18+g.r.IntN(12),
		g.pick([]string{"The county clerks reported no significant problems.", "Several counties reported delays with new ballot scanners.", "Mail ballots made up nearly half of the total."}))
	fmt.Fprintf(&b, "The general election is November 3. See the [race page](%s) for candidates and results.\n", raceLink(r))
	return b.String()
}

func (g *gen) moneyBody(r *race, a, b *candidate, ra, rb float64, q string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s raised $%.1f million in the %s, outpacing %s's $%.1f million, according to reports filed with the State Ethics Commission on Wednesday.\n\n", a.name, ra, q, b.name, rb)
	fmt.Fprintf(&s, "%s ended the period with $%.1f million in the bank; %s had $%.1f million.\n\n", a.last, ra*(1.2+g.r.Float64()), b.last, rb*(0.9+g.r.Float64()))
	fmt.Fprintf(&s, "## Where the money came from\n\n")
	fmt.Fprintf(&s, "- **Small donors:** %d%% of %s's contributions were $200 or less, compared with %d%% for %s.\n", 30+g.r.IntN(40), a.last, 20+g.r.IntN(40), b.last)
	fmt.Fprintf(&s, "- **Out of state:** %d%% of the money came from outside New Essex.\n", 8+g.r.IntN(25))
	fmt.Fprintf(&s, "- **Outside groups:** independent committees have reserved $%.1f million in television time for the fall.\n\n", 1+4*g.r.Float64())
	fmt.Fprintf(&s, "\"%s\" a spokesperson for %s said.\n", g.pick([]string{"The numbers speak for themselves.", "We're going to be outspent, and we're fine with that.", "Voters aren't for sale, and they know it."}), b.last)
	return s.String()
}

func (g *gen) pollBody(r *race, l, t *candidate, lp, tp float64, pollster string, when time.Time) string {
	var b strings.Builder
	n := 600 + 25*g.r.IntN(20)
	moe := 98 / math.Sqrt(float64(n))
	fmt.Fprintf(&b, "%s leads %s %.0f%% to %.0f%% among likely voters in the race for %s, according to %s released %s.\n\n", l.name, t.name, lp, tp, officeTitle(r), pollster, when.Format("Monday"))
	if math.Abs(lp-tp) < moe {
		fmt.Fprintf(&b, "The lead is within the poll's margin of error of ±%.1f percentage points, which means the race is effectively tied.\n\n", moe)
	} else {
		fmt.Fprintf(&b, "The poll's margin of error is ±%.1f percentage points.\n\n", moe)
	}
	fmt.Fprintf(&b, "## What else the poll found\n\n")
	fmt.Fprintf(&b, "1. **Top issue:** %d%% of respondents named %s as the most important issue facing the state.\n", 18+g.r.IntN(20), g.pick(issues))
	fmt.Fprintf(&b, "2. **Right track:** %d%% said New Essex is headed in the right direction.\n", 32+g.r.IntN(20))
	fmt.Fprintf(&b, "3. **Enthusiasm:** %d%% of %s voters said they were \"very enthusiastic\" about voting, against %d%% of %s voters.\n\n", 50+g.r.IntN(30), l.party, 50+g.r.IntN(30), t.party)
	fmt.Fprintf(&b, "The survey of %d likely voters was conducted by phone and online. [Full results for %s](%s).\n", n, r.title, raceLink(r))
	return b.String()
}

func (g *gen) debateBody(r *race, town string) string {
	a, c := r.cands[0], r.cands[1]
	var b strings.Builder
	fmt.Fprintf(&b, "%s and %s met on stage in %s on %s night for an hour-long debate that was sharp but rarely personal.\n\n", a.name, c.name, town, g.pick([]string{"Tuesday", "Thursday", "Monday"}))
	fmt.Fprintf(&b, "## 1. %s was the main event\n\n", capitalize(a.issue))
	fmt.Fprintf(&b, "%s returned again and again to %s. %s accused %s of \"running on a slogan.\"\n\n", a.last, a.issue, c.last, a.last)
	fmt.Fprintf(&b, "## 2. A rare moment of agreement\n\n")
	fmt.Fprintf(&b, "Both candidates said they would %s.\n\n", g.pick([]string{"keep the state's rainy-day fund above 8 percent of the budget", "support an independent redistricting commission", "sign a bill to expand rural broadband", "oppose closing any more rural hospitals"}))
	fmt.Fprintf(&b, "## 3. The line of the night\n\n")
	fmt.Fprintf(&b, "> %s\n\n— %s\n\n", g.quote(c), c.name)
	fmt.Fprintf(&b, "The candidates meet %s. [Follow the race](%s).\n", pick2(strings.Contains(town, "Port"), "again in two weeks in Kettering", "for the last time before Election Day"), raceLink(r))
	return b.String()
}

func (g *gen) endorseBody(r *race, c *candidate, grp string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s endorsed %s in the race for %s on %s, citing %s record on %s.\n\n", grp, c.name, officeTitle(r), g.pick([]string{"Monday", "Tuesday", "Friday"}), c.possesive, c.issue)
	fmt.Fprintf(&b, "%s called the endorsement \"%s\"\n\n", c.last, g.pick([]string{"an honor and a responsibility.", "proof that this campaign is reaching every corner of New Essex.", "a sign of where this race is headed."}))
	fmt.Fprintf(&b, "Endorsements rarely move many votes on their own, said %s, a political scientist at %s, \"but they bring volunteers, and volunteers knock on doors.\"\n", g.pick([]string{"Miriam Castellanos", "Howard Benning", "Thuy Nguyen", "Robert Ainsley"}), g.pick(schools))
	return b.String()
}

func (g *gen) issueBody(r *race, issue string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Ask voters in New Essex what they worry about and %s comes up quickly. Here is how the candidates for %s would handle it.\n\n", issue, officeTitle(r))
	for _, c := range r.cands[:2] {
		fmt.Fprintf(&b, "## %s (%s)\n\n", c.name, c.code)
		fmt.Fprintf(&b, "%s %s\n\n", c.last, g.pick([]string{
			"would create a state task force with a deadline of one year and the power to recommend spending.",
			"wants to cut red tape first, arguing that the state already spends enough and spends it badly.",
			"has proposed a $200 million bond, to be repaid over twenty years.",
			"favors giving counties more control, saying \"Port Alder doesn't know what Tillman County needs.\"",
			"says the answer is a public-private partnership like the one that rebuilt the Harbor bridges.",
		}))
		fmt.Fprintf(&b, "> %s\n\n", g.quote(c))
	}
	fmt.Fprintf(&b, "[Compare the candidates](%s)\n", raceLink(r))
	return b.String()
}

func (g *gen) countyBody(c *county) string {
	var b strings.Builder
	fmt.Fprintf(&b, "On Main Street in %s, the county seat, the campaign signs went up early this year.\n\n", c.seat)
	fmt.Fprintf(&b, "%s County, home to %s people in the state's %s region, %s\n\n", c.name, commas(c.population), c.region, g.pick([]string{
		"has lost two factories and gained a distribution center in the past decade.",
		"is growing faster than any county outside Port Alder.",
		"relies on farming and a state prison for most of its jobs.",
		"has seen its downtown come back to life, slowly.",
	}))
	fmt.Fprintf(&b, "> %s\n\n— a %s voter\n\n", g.pick([]string{
		"I vote for the person, not the party. Always have.",
		"Nobody running for governor has been up here since the last time they needed us.",
		"My grandkids can't afford to live in the town they grew up in.",
		"I just want the potholes fixed. Is that too much to ask?",
	}), g.pick([]string{"retired teacher", "dairy farmer", "nurse", "bartender", "county employee", "small-business owner"}))
	fmt.Fprintf(&b, "About %s people are registered to vote in the county. Election officials expect turnout of about %d%%.\n\n", commas(c.registered), int(c.turnout*100))
	fmt.Fprintf(&b, "[See %s County's results](/counties/%s/)\n", c.name, c.slug)
	return b.String()
}

func (g *gen) previewBody(r *race) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", g.pick([]string{
		"Election Day is November 3. Here is what you need to know about the candidates.",
		"Early voting is under way. This guide covers the candidates, their backgrounds and their positions.",
	}))
	if r.district != "" && !r.nonpartisan {
		fmt.Fprintf(&b, "The district covers %d %s.\n\n", len(r.counties), pick2(len(r.counties) == 1, "county", "counties"))
	}
	for _, c := range r.cands {
		fmt.Fprintf(&b, "## %s\n\n", c.name)
		fmt.Fprintf(&b, "**Party:** %s · **Hometown:** %s%s\n\n", c.party, c.hometown, pick2(c.incumbent, " · **Incumbent**", ""))
		fmt.Fprintf(&b, "%s, %s, has focused on %s. [Full profile](%s)\n\n", c.last, strings.TrimSuffix(c.job, "."), c.issue, candLink(c))
	}
	fmt.Fprintf(&b, "Results will appear on the [race page](%s) after polls close at 8 p.m.\n", raceLink(r))
	return b.String()
}

func (g *gen) resultArticle(r *race) *article {
	l, u := r.leader, r.runnerUp
	a := &article{section: section(r), race: r}
	var b strings.Builder
	switch r.status {
	case "called", "uncontested":
		if u == nil {
			a.title = fmt.Sprintf("%s wins %s unopposed", l.name, r.title)
			a.dek = fmt.Sprintf("%s faced no major-party opponent.", l.last)
			fmt.Fprintf(&b, "%s (%s) won %s, facing no major-party opponent. %s received %s votes.\n", l.name, l.code, r.title, l.last, commas(l.votes))
			break
		}
		verb := "wins"
		if l.incumbent {
			verb = "wins re-election in"
		}
		a.title = fmt.Sprintf("%s %s %s", l.name, verb, officeTitle(r))
		a.title = strings.ToUpper(a.title[:1]) + a.title[1:]
		a.dek = fmt.Sprintf("%s defeated %s, %.1f%% to %.1f%%, according to unofficial returns.", l.last, u.last, r.leaderPct, r.runnerPct)
		fmt.Fprintf(&b, "%s won the race for %s, defeating %s by %s votes, according to unofficial returns.\n\n", l.name, officeTitle(r), u.name, commas(l.votes-u.votes))
		fmt.Fprintf(&b, "> %s\n\n— %s, speaking to supporters in %s\n\n", g.pick([]string{
			"Tonight the voters of New Essex chose to move forward together.",
			"We said we'd outwork everybody, and we did.",
			"To everyone who didn't vote for me: I will work just as hard for you.",
		}), l.last, l.hometown)
		fmt.Fprintf(&b, "%s conceded %s, saying %s had called %s to congratulate %s.\n\n", u.last, g.pick([]string{"shortly before midnight", "early Wednesday", "Wednesday morning"}), u.pronoun, l.last, pick2(l.pronoun == "she", "her", "him"))
		for _, c := range r.cands {
			fmt.Fprintf(&b, "- **%s** (%s): %s votes, %.1f%%\n", c.name, c.code, commas(c.votes), 100*float64(c.votes)/float64(r.totalVotes))
		}
		fmt.Fprintf(&b, "\n[Results by county](%s)\n", raceLink(r))
	case "recount":
		a.title = fmt.Sprintf("%s heads for a recount", r.title)
		a.dek = fmt.Sprintf("%s leads %s by %s votes out of more than %s cast.", l.last, u.last, commas(l.votes-u.votes), commas(r.totalVotes/1000*1000))
		fmt.Fprintf(&b, "The race for %s is headed for an automatic recount after the final unofficial tally showed %s ahead of %s by %s votes, a margin of %.2f percentage points.\n\n", officeTitle(r), l.name, u.name, commas(l.votes-u.votes), r.leaderPct-r.runnerPct)
		fmt.Fprintf(&b, "State law requires a recount when the margin is less than half a percentage point. County canvassing boards must certify their results by November 20; the recount would begin the following week.\n\n")
		fmt.Fprintf(&b, "## What happens next\n\n1. Counties finish counting provisional ballots.\n2. The State Canvassing Board certifies the results.\n3. Each county recounts every ballot by machine, with a hand count of a random sample.\n\n")
		fmt.Fprintf(&b, "[Results by county](%s)\n", raceLink(r))
	case "too close to call":
		a.title = fmt.Sprintf("Race for %s too close to call", officeTitle(r))
		a.dek = fmt.Sprintf("%s leads %s by %s votes with %d%% of the expected vote counted.", l.last, u.last, commas(l.votes-u.votes), r.reporting)
		fmt.Fprintf(&b, "The race for %s remained too close to call on Wednesday morning, with %s holding a lead of %s votes over %s.\n\n", officeTitle(r), l.name, commas(l.votes-u.votes), u.name)
		fmt.Fprintf(&b, "About %d%% of the expected vote had been counted. Most of the outstanding ballots are mail ballots from %s, which %s.\n\n", r.reporting, g.pick([]string{"Harbor County", "the River Valley", "the Coast counties"}), g.pick([]string{"have favored Democrats this year", "have split roughly evenly", "could go either way"}))
		fmt.Fprintf(&b, "> We are going to count every vote, and we are going to be patient.\n\n— %s\n\n", u.name)
		fmt.Fprintf(&b, "[Live results by county](%s)\n", raceLink(r))
	default:
		a.title = fmt.Sprintf("%s leads in %s as count continues", l.last, officeTitle(r))
		a.title = strings.ToUpper(a.title[:1]) + a.title[1:]
		a.dek = fmt.Sprintf("With %d%% of the expected vote counted, %s is ahead by %.1f points.", r.reporting, l.name, r.leaderPct-r.runnerPct)
		fmt.Fprintf(&b, "%s led %s by %.1f percentage points in the race for %s, with %d%% of the expected vote counted.\n\n", l.name, u.name, r.leaderPct-r.runnerPct, officeTitle(r), r.reporting)
		fmt.Fprintf(&b, "Election officials said they expected to finish counting mail ballots by Friday.\n\n[Live results by county](%s)\n", raceLink(r))
	}
	a.body = b.String()
	a.publishedAt = r.updated.Add(-time.Duration(g.r.IntN(40)) * time.Minute)
	if r.date.Equal(specialDay) {
		a.publishedAt = r.updated.Add(10 * time.Minute)
	}
	return a
}

func (g *gen) stillCountingBody() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Most of the 2026 election in New Essex is settled. These races are not.\n\n")
	for _, r := range g.races {
		if r.status == "called" || r.status == "uncontested" {
			continue
		}
		fmt.Fprintf(&b, "- **[%s](%s):** %s\n", r.title, raceLink(r), r.summary)
	}
	fmt.Fprintf(&b, "\nCounties must certify their results by November 20. The State Canvassing Board meets on November 24.\n")
	return b.String()
}

// notebook items: title (last name, town), dek (name, office),
// body (name, office, town, county, last name, race link).
