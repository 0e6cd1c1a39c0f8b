package main

// The races on the ballot.

import (
	"fmt"
	"math"
	"strings"
	"time"
)

type raceSpec struct {
	office, district, level string
	margin                  float64
	status                  string
	reporting               int
	third                   []string
	incumbent               string
	nonpartisan, featured   bool
	dropoff                 float64
}

var statewide = []raceSpec{
	{office: "Governor", level: "Statewide", margin: -0.8, status: "too close to call", reporting: 97, third: []string{"L"}, featured: true, dropoff: 1},
	{office: "U.S. Senate", level: "Federal", margin: -4.6, status: "called", reporting: 99, third: []string{"L", "G"}, incumbent: "R", featured: true, dropoff: 0.99},
	{office: "Lieutenant Governor", level: "Statewide", margin: -3.1, status: "called", reporting: 99, dropoff: 0.95},
	{office: "Attorney General", level: "Statewide", margin: 6.2, status: "called", reporting: 99, incumbent: "D", featured: true, dropoff: 0.95},
	{office: "Secretary of State", level: "Statewide", margin: 2.4, status: "counting", reporting: 93, third: []string{"L"}, dropoff: 0.94},
	{office: "State Treasurer", level: "Statewide", margin: 0.21, status: "recount", reporting: 100, incumbent: "R", dropoff: 0.93},
	{office: "State Auditor", level: "Statewide", margin: -8.3, status: "called", reporting: 99, incumbent: "R", dropoff: 0.91},
	{office: "Commissioner of Agriculture", level: "Statewide", margin: -14.2, status: "called", reporting: 99, incumbent: "R", dropoff: 0.9},
	{office: "Superintendent of Public Instruction", level: "Statewide", margin: 3.4, status: "counting", reporting: 92, nonpartisan: true, dropoff: 0.86},
	{office: "Supreme Court", district: "Seat 3", level: "Judicial", margin: 11.5, status: "called", reporting: 99, incumbent: "D", nonpartisan: true, dropoff: 0.84},
}

var houseMargins = []float64{31, -9, 1.3, -16, -24, 3.8, -2.9, 11}
var houseStatus = []string{"called", "called", "too close to call", "called", "uncontested", "counting", "called", "called"}
var houseIncumbent = []string{"D", "R", "", "R", "R", "D", "R", "D"}

func (g *gen) makeRaces() {
	add := func(sp raceSpec, counties []*county) *race {
		r := &race{
			id: len(g.races) + 1, office: sp.office, officeSlug: slugify(sp.office), district: sp.district,
			level: sp.level, date: electionDay, status: sp.status, reporting: sp.reporting,
			margin: sp.margin, counties: counties, nonpartisan: sp.nonpartisan, featured: sp.featured,
			thirdParties: sp.third, incumbentParty: sp.incumbent, dropoff: sp.dropoff, sort: len(g.races) + 1,
		}
		r.title = sp.office
		if sp.district != "" {
			if strings.HasPrefix(sp.district, "Seat") {
				r.title += ", " + sp.district
			} else {
				r.title += " District " + sp.district
			}
		}
		r.openSeat = sp.incumbent == ""
		r.slug = slugify(r.title)
		r.updated = asOf.Add(-time.Duration(g.r.IntN(600)) * time.Minute)
		if r.status == "called" || r.status == "uncontested" {
			r.updated = electionDay.Add(time.Duration(21*60+g.r.IntN(600)) * time.Minute)
		}
		g.races = append(g.races, r)
		return r
	}
	for _, sp := range statewide {
		r := add(sp, g.counties)
		g.byOffice[r.office] = r
	}
	for d := 1; d <= 8; d++ {
		var cs []*county
		for _, c := range g.counties {
			if c.house == d {
				cs = append(cs, c)
			}
		}
		sp := raceSpec{office: "U.S. House", district: fmt.Sprint(d), level: "Federal", margin: houseMargins[d-1],
			status: houseStatus[d-1], incumbent: houseIncumbent[d-1], dropoff: 0.97}
		sp.reporting = 99
		switch sp.status {
		case "counting":
			sp.reporting = 88
		case "too close to call":
			sp.reporting = 98
		case "uncontested":
			sp.reporting = 100
		}
		if d == 2 || d == 7 {
			sp.third = []string{"L"}
		}
		g.houseRaces = append(g.houseRaces, add(sp, cs))
	}
	for d := 2; d <= 24; d += 2 {
		var cs []*county
		for _, c := range g.counties {
			if c.senate == d {
				cs = append(cs, c)
			}
		}
		sp := raceSpec{office: "State Senate", district: fmt.Sprint(d), level: "Legislative", dropoff: 0.93, status: "called", reporting: 100}
		// A district's result follows its counties' lean.
		lean := 0.0
		for _, c := range cs {
			lean += c.lean
		}
		sp.margin = math.Round((100*math.Tanh(lean/float64(len(cs))/2)+g.norm(-1, 6))*10) / 10
		sp.incumbent = []string{"D", "R"}[g.r.IntN(2)]
		if sp.margin > 0 {
			sp.incumbent = "D"
		} else if g.r.IntN(3) > 0 {
			sp.incumbent = "R"
		}
		if g.r.IntN(5) == 0 {
			sp.incumbent = ""
		}
		switch d {
		case 14:
			sp.margin, sp.status = 0.12, "recount"
		case 8:
			sp.status = "uncontested"
		case 20:
			sp.margin, sp.status, sp.reporting = -1.4, "too close to call", 96
		}
		if sp.status == "called" && math.Abs(sp.margin) < 2 {
			sp.margin = math.Copysign(2+g.r.Float64()*3, sp.margin)
		}
		add(sp, cs)
	}
	// A special election held in March, long since called.
	var cs []*county
	for _, c := range g.counties {
		if c.name == "Linden" || c.name == "Morrow" {
			cs = append(cs, c)
		}
	}
	sp := raceSpec{office: "State House", district: "41", level: "Legislative", margin: 5.9, status: "called", reporting: 100, dropoff: 0.41}
	r := add(sp, cs)
	r.date, r.title, r.slug = specialDay, "State House District 41 (special)", "state-house-district-41-special"
	r.updated = specialDay.Add(22*time.Hour + 40*time.Minute)
}
