// Command gen writes seed.sql for the newsroom example: the 2026 general
// election in New Essex, a fictional state of 60 counties, as covered by a
// fictional newspaper, The New Essex Courier.
//
// The output is deterministic: the same program always writes the same
// bytes. From examples/newsroom:
//
//	go run ./internal/gen -o seed.sql
//	rm -f newsroom.db   # bake recreates it from seed.sql on the next build
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "", "write to this file instead of standard output")
	flag.Parse()
	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	g := newGen()
	g.build()
	g.write(bw)
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
}

// The fictional calendar.
var (
	primaryDay  = day(2026, 6, 2)
	electionDay = day(2026, 11, 3)
	specialDay  = day(2026, 3, 10)
	asOf        = time.Date(2026, 11, 5, 7, 30, 0, 0, time.UTC) // the last results update
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

type county struct {
	id                     int
	name, slug, seat       string
	region                 string
	population, registered int
	lean                   float64 // logit of the Democratic two-party share in a neutral year
	turnout                float64
	x, y                   float64
	house, senate          int
}

type race struct {
	id                    int
	slug, title           string
	office, officeSlug    string
	district              string // "" statewide
	level                 string
	date                  time.Time
	status                string
	reporting             int
	summary               string
	sort                  int
	updated               time.Time
	margin                float64 // target Democratic (or first candidate) margin, points
	counties              []*county
	cands                 []*candidate
	dropoff               float64
	nonpartisan           bool
	openSeat              bool
	featured              bool
	thirdParties          []string
	incumbentParty        string // "D", "R", "" (open or nonpartisan)
	totalVotes            int
	leader, runnerUp      *candidate
	leaderPct, runnerPct  float64
	primaryWinnerArticles bool
}

type candidate struct {
	id                 int
	race               *race
	name, slug         string
	first, last        string
	party, code        string
	incumbent, winner  bool
	order              int
	hometown           string
	bio                string
	votes              int
	job                string
	born               int
	pronoun, possesive string
	issue              string
}

type result struct {
	race, cand, county, votes int
}

// tally is how much of a county's expected vote in a race is counted.
type tally struct {
	race, county, pct int
	updated           time.Time
}

type article struct {
	id                   int
	slug, title, dek     string
	body                 string
	author, section      string
	race                 *race
	county               *county
	published            bool
	publishedAt, updated time.Time
}

type gen struct {
	r          *rand.Rand
	counties   []*county
	races      []*race
	cands      []*candidate
	results    []result
	tallies    []tally
	articles   []*article
	redirects  [][2]string
	usedNames  map[string]bool
	firstUsed  map[string]int
	usedSlugs  map[string]bool
	byOffice   map[string]*race
	houseRaces []*race
}

func newGen() *gen {
	return &gen{
		r:         rand.New(rand.NewPCG(2026, 1103)),
		usedNames: map[string]bool{},
		firstUsed: map[string]int{},
		usedSlugs: map[string]bool{},
		byOffice:  map[string]*race{},
	}
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) norm(mean, sd float64) float64 { return mean + sd*g.r.NormFloat64() }

func (g *gen) build() {
	g.makeCounties()
	g.makeRaces()
	g.makeCandidates()
	g.makeResults()
	g.makeArticles()
}

// ---------------------------------------------------------------- counties

var countyNames = []string{
	"Aldridge", "Ashby", "Barrow", "Beacon", "Bellmont", "Birch", "Blackstone", "Bramble",
	"Brookfield", "Calloway", "Carver", "Cedar", "Chesterton", "Clearwater", "Coldbrook",
	"Cooper", "Crane", "Dalton", "Deerfield", "Dunmore", "Eastbrook", "Fairhaven", "Fallon",
	"Fenwick", "Fox River", "Garland", "Granite", "Greer", "Hadley", "Harbor", "Harlow",
	"Hartwell", "Hawthorne", "Highland", "Holloway", "Iron Hills", "Juniper", "Kingsbury",
	"Lamar", "Larch", "Linden", "Marsh", "Meadow", "Millbrook", "Morrow", "Norwood", "Oakes",
	"Osprey", "Pike", "Quarry", "Redwater", "Rowan", "Salem", "Stillwater", "Summit",
	"Thornton", "Tillman", "Vance", "Walden", "Whitfield",
}

var townNames = []string{
	"Millford", "Ashton", "Grayson", "Hollis", "Fairview", "Port Alder", "Kettering", "Brandt",
	"Lowell Falls", "Chapel Hill", "Oakridge", "Sutton", "Westover", "Granby", "Easton",
	"Marlow", "Pinecrest", "Riverton", "Stanhope", "Clayton", "Dover Mills", "Halsey",
	"Newbury", "Elkhart", "Bristow", "Carlisle", "Sheffield", "Winslow", "Ridgeway",
	"Bancroft", "Greenville", "Lakeside", "Prescott", "Tamarack", "Bellport", "Corinth",
	"Mayfield", "Ferris", "Harmon", "Jasper", "Kirkwood", "Lyndon", "Medford", "Norris",
	"Orland", "Paxton", "Quincy", "Rockport", "Selby", "Trenton", "Upton", "Verona",
	"Wakefield", "Yardley", "Abbott", "Beckley", "Colfax", "Denton", "Everly", "Fulton",
}

var regions = []string{"Coast", "River Valley", "Central Plains", "North Woods", "Southern Hills"}

func (g *gen) makeCounties() {
	towns := slices.Clone(townNames)
	g.r.Shuffle(len(towns), func(i, j int) { towns[i], towns[j] = towns[j], towns[i] })
	for i, name := range countyNames {
		c := &county{id: i + 1, name: name, slug: slugify(name + " county")}
		c.x, c.y = g.r.Float64(), g.r.Float64()
		switch {
		case c.x < 0.25:
			c.region = "Coast"
		case c.y > 0.75:
			c.region = "North Woods"
		case c.y < 0.25:
			c.region = "Southern Hills"
		case c.x < 0.55:
			c.region = "River Valley"
		default:
			c.region = "Central Plains"
		}
		// Mostly rural counties, a few cities.
		pop := math.Exp(g.norm(10.6, 0.75))
		c.population = int(pop/10) * 10
		c.seat = towns[i]
		if name == "Harbor" {
			c.population, c.seat, c.region, c.x, c.y = 468210, "Port Alder", "Coast", 0.05, 0.5
		}
		c.population = max(c.population, 6120)
		regionLean := map[string]float64{"Coast": 0.35, "River Valley": 0.1, "Central Plains": -0.35, "North Woods": -0.1, "Southern Hills": -0.45}[c.region]
		c.lean = regionLean + 0.42*(math.Log(float64(c.population))-10.6) + g.norm(0, 0.22)
		c.registered = int(float64(c.population) * (0.66 + 0.08*g.r.Float64()))
		c.turnout = 0.52 + 0.14*g.r.Float64()
		g.counties = append(g.counties, c)
	}
	// Eight U.S. House districts, filled west to east to about equal population.
	total := 0
	for _, c := range g.counties {
		total += c.population
	}
	byX := slices.Clone(g.counties)
	slices.SortFunc(byX, func(a, b *county) int { return cmpf(a.x+a.y/4, b.x+b.y/4) })
	target := total / 8
	d, sum := 1, 0
	for _, c := range byX {
		if sum > 0 && sum+c.population/2 > target && d < 8 {
			d, sum = d+1, 0
		}
		c.house = d
		sum += c.population
	}
	// Twelve state senate districts are on the ballot (the even ones),
	// five counties each, north to south.
	byY := slices.Clone(g.counties)
	slices.SortFunc(byY, func(a, b *county) int { return cmpf(b.y-a.x/5, a.y-b.x/5) })
	for i, c := range byY {
		c.senate = 2 * (i/5 + 1)
	}
}

func cmpf(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- races

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

// ---------------------------------------------------------------- candidates

var firstNames = []string{
	"Maria", "James", "Aisha", "Robert", "Linda", "Daniel", "Priya", "Thomas", "Grace", "Michael",
	"Elena", "David", "Sarah", "Marcus", "Rebecca", "Kevin", "Naomi", "Carlos", "Hannah", "Samuel",
	"Olivia", "Victor", "Teresa", "Andrew", "Mei", "Jonathan", "Rosa", "Patrick", "Yusuf", "Claire",
	"Gregory", "Denise", "Luis", "Abigail", "Raymond", "Fatima", "Henry", "Julia", "Dwayne", "Katherine",
	"Nathan", "Lena", "Franklin", "Ingrid", "Omar", "Beatrice", "Walter", "Sofia", "Curtis", "Monica",
}

var lastNames = []string{
	"Okafor", "Whitaker", "Lindqvist", "Delgado", "Hargrove", "Nakamura", "Brennan", "Castillo", "Pruitt",
	"Abernathy", "Mbeki", "Sorensen", "Vasquez", "Thornbury", "Kowalski", "Reyes", "Gallagher", "Osei",
	"Fairbanks", "Holm", "Ashworth", "Iverson", "Duarte", "McAllister", "Petrov", "Oyelaran", "Caldwell",
	"Bishop", "Lindgren", "Navarro", "Sterling", "Haddad", "Quinlan", "Morrison", "Tran", "Eckert",
	"Bauer", "Ferraro", "Novak", "Albright", "Chen", "Dawson", "Ellison", "Frost", "Greenberg", "Hale",
	"Ibarra", "Jansen", "Kimura", "Lowry", "Marsh", "Nyberg", "Ortega", "Pryor", "Rasmussen", "Santos",
	"Talbot", "Underwood", "Voss", "Winslow", "Yates", "Zimmer", "Acosta", "Boyd", "Crowley", "Dunn",
}

var parties = map[string]string{"D": "Democratic", "R": "Republican", "L": "Libertarian", "G": "Green", "NP": "Nonpartisan"}

var jobs = []string{
	"a public-school teacher", "a small-business owner", "a county prosecutor", "a family physician",
	"an Army veteran and engineer", "a farmer", "a labor organizer", "a nurse", "a civil engineer",
	"a former police chief", "a real estate developer", "a pastor", "a community college dean",
	"a software entrepreneur", "a union electrician", "a former newspaper editor", "an accountant",
	"a public defender", "a hospital administrator", "a city planner",
}

var offices = []string{
	"state senator", "state representative", "mayor of %s", "county commissioner", "member of the %s school board",
	"city council member in %s", "county treasurer",
}

var issues = []string{
	"property taxes", "the cost of child care", "rural hospital closures", "public safety", "housing costs",
	"the Port Alder transit expansion", "broadband in rural counties", "school funding", "the opioid epidemic",
	"the state's aging water systems", "road and bridge repair", "election security", "the state budget surplus",
	"wildfire preparedness", "farm income", "manufacturing jobs",
}

var schools = []string{
	"the University of New Essex", "New Essex State University", "Harbor College", "Fallon Technical Institute",
	"Kingsbury College", "the University of New Essex School of Law", "Port Alder Community College",
}

// personName returns a new name. Last names are unique (stories refer to
// people by them), and no first name is used more than twice.
func (g *gen) personName() (first, last string) {
	for {
		first, last = g.pick(firstNames), g.pick(lastNames)
		if !g.usedNames[last] && g.firstUsed[first] < 2 {
			g.usedNames[last] = true
			g.firstUsed[first]++
			return
		}
	}
}

func (g *gen) makeCandidates() {
	for _, r := range g.races {
		var codes []string
		switch {
		case r.nonpartisan:
			codes = []string{"NP", "NP"}
		case r.status == "uncontested":
			if r.margin > 0 {
				codes = []string{"D"}
			} else {
				codes = []string{"R"}
			}
		default:
			codes = append([]string{"D", "R"}, r.thirdParties...)
		}
		for i, code := range codes {
			c := &candidate{id: len(g.cands) + 1, race: r, code: code, party: parties[code], order: i + 1}
			c.first, c.last = g.personName()
			c.name = c.first + " " + c.last
			c.slug = slugify(c.name)
			home := r.counties[g.r.IntN(len(r.counties))]
			c.hometown = home.seat
			c.job = g.pick(jobs)
			c.born = 1954 + g.r.IntN(36)
			c.issue = g.pick(issues)
			if strings.Contains("Maria Aisha Linda Priya Grace Elena Sarah Rebecca Naomi Hannah Olivia Teresa Mei Rosa Claire Denise Abigail Fatima Julia Katherine Lena Ingrid Beatrice Sofia Monica", c.first) {
				c.pronoun, c.possesive = "she", "her"
			} else {
				c.pronoun, c.possesive = "he", "his"
			}
			switch {
			case r.nonpartisan && i == 0:
				c.incumbent = true
			case !r.nonpartisan && code == r.incumbentParty:
				c.incumbent = true
			}
			r.cands = append(r.cands, c)
			g.cands = append(g.cands, c)
			c.bio = g.bio(c, home)
		}
	}
}

func (g *gen) bio(c *candidate, home *county) string {
	r := c.race
	var b strings.Builder
	He := capitalize(c.pronoun)
	role := "the " + c.party + " nominee for " + r.title
	switch {
	case r.office == "Supreme Court" && c.incumbent:
		role = "the justice in " + r.district + " of the New Essex Supreme Court, appointed in 2019 and now on the ballot for a full ten-year term"
	case r.nonpartisan && c.incumbent:
		role = "the incumbent " + strings.ToLower(r.title) + ", on the nonpartisan ballot"
	case r.nonpartisan:
		role = "a candidate for " + r.title + " on the nonpartisan ballot"
	case c.code == "L" || c.code == "G":
		role = "the " + c.party + " Party's candidate for " + r.title
	}
	if r.status == "uncontested" {
		role += ", running without a major-party opponent"
	}
	fmt.Fprintf(&b, "**%s** is %s.", c.name, role)
	office := g.pick(offices)
	if strings.Contains(office, "%s") {
		office = fmt.Sprintf(office, home.seat)
	}
	switch {
	case c.incumbent && r.office == "Supreme Court":
		fmt.Fprintf(&b, " Before joining the court, %s spent eleven years as a trial judge in %s County.", c.pronoun, home.name)
	case c.incumbent:
		// Terms are six years in the U.S. Senate, two in the House, four elsewhere.
		term := map[string]int{"U.S. Senate": 6, "U.S. House": 2}[r.office]
		if term == 0 {
			term = 4
		}
		first := 2026 - term*(1+g.r.IntN(min(3, 12/term)))
		ordinal := []string{"", "", "a second", "a third", "a fourth", "a fifth", "a sixth", "a seventh"}[(2026-first)/term+1]
		fmt.Fprintf(&b, " %s was first elected to the seat in %d and is seeking %s term.", He, first, ordinal)
	case c.code == "L" || c.code == "G":
		fmt.Fprintf(&b, " %s works as %s in %s and has never held elected office.", He, strings.TrimPrefix(strings.TrimPrefix(c.job, "a "), "an "), c.hometown)
	default:
		fmt.Fprintf(&b, " %s has served as %s since %d.", He, office, 2012+g.r.IntN(10))
	}
	fmt.Fprintf(&b, " Before entering politics %s worked as %s.\n\n", c.pronoun, c.job)
	fmt.Fprintf(&b, "- **Born:** %d, %s\n", c.born, c.hometown)
	fmt.Fprintf(&b, "- **Lives in:** %s, %s County\n", c.hometown, home.name)
	edu := g.pick(schools)
	fmt.Fprintf(&b, "- **Education:** %s\n", strings.ToUpper(edu[:1])+edu[1:])
	fmt.Fprintf(&b, "- **Family:** %s\n\n", g.pick([]string{"Married, two children", "Married, three children", "Married", "Single", "Widowed, one child", "Married, four grandchildren"}))
	fmt.Fprintf(&b, "## On the issues\n\n")
	fmt.Fprintf(&b, "%s has made %s the center of %s campaign", c.name, c.issue, c.possesive)
	if c.issue == "property taxes" {
		fmt.Fprintf(&b, ", promising a cap on annual assessment increases for homeowners")
	}
	fmt.Fprintf(&b, ". %s\n", g.pick([]string{
		"On the stump " + c.pronoun + " talks about a state government that \"answers the phone.\"",
		He + " has also called for an independent audit of every state agency in the first year.",
		He + " has said " + c.pronoun + " would not sign any budget that raises the sales tax.",
		He + " describes " + c.possesive + " approach as \"fix what is broken before building anything new.\"",
		"Asked about the budget surplus, " + c.pronoun + " has said it should go back to taxpayers.",
	}))
	return b.String()
}

// ---------------------------------------------------------------- results

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

// ---------------------------------------------------------------- articles

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
var notebook = []struct{ title, dek, body string }{
	{"%s tours %s as the campaign heads into the home stretch", "%s spent the day with voters in the race for %s.",
		"%[1]s spent Saturday afternoon in %[3]s, stopping at a diner, a hardware store and a high school football game.\n\n\"%[3]s doesn't get enough attention from Port Alder,\" %[5]s told a crowd of about 80 people. \"I'm going to change that.\"\n\n[Follow the race for %[2]s](%[6]s)\n"},
	{"%s rolls out new television ad filmed in %s", "The 30-second spot is the first of the fall for %s in the race for %s.",
		"%[1]s released a new television ad on Tuesday, filmed on a farm outside %[3]s in %[4]s County.\n\nThe ad, which will run statewide, features %[5]s walking a fence line and talking about the cost of living. The campaign said the buy was in the \"high six figures.\"\n\n[Race for %[2]s](%[6]s)\n"},
	{"%s picks up support from local officials in %s", "A dozen mayors and county commissioners signed on with %s, a candidate for %s.",
		"Twelve local officials, most from the area around %[3]s, endorsed %[1]s on Thursday.\n\nThe list includes two officials from the other party, which the campaign called \"proof that this race isn't about party.\"\n\n[Race for %[2]s](%[6]s)\n"},
	{"Town hall in %[2]s gets heated for %[1]s", "Questions about the budget dominated an evening event for %s, who is running for %s.",
		"A town hall meeting in %[3]s turned tense on Monday night when several residents pressed %[1]s on property taxes and school funding.\n\n> You keep saying you'll fix it. How, exactly?\n\n— a %[4]s County resident\n\n%[5]s answered every question and stayed for an hour afterward, aides said.\n\n[Race for %[2]s](%[6]s)\n"},
	{"%s campaign opens field office in %s", "The office is the seventh for %s in the race for %s.",
		"The campaign of %[1]s opened a field office in downtown %[3]s on Saturday, its seventh in the state.\n\nVolunteers said they planned to knock on 20,000 doors in %[4]s County before Election Day.\n\n[Race for %[2]s](%[6]s)\n"},
	{"Fact check: %s's claim about jobs in %s", "We looked at a claim %s has made repeatedly in the race for %s.",
		"In speeches across the state, %[1]s has said that %[3]s \"lost a thousand jobs\" in the past four years.\n\n## What the numbers say\n\nState labor data show that employment in %[4]s County fell by about 640 jobs between 2022 and 2025, most of them in manufacturing. Several hundred of those losses were offset by new jobs in health care and warehousing.\n\n**Our verdict: exaggerated.** The county did lose jobs, but not as many as %[5]s says, and not on net.\n\n[Race for %[2]s](%[6]s)\n"},
}

// early pieces, late 2024: title, dek, body.
var early = [][3]string{
	{"Who might run for governor in 2026? An early look", "With the governor term-limited, the field is wide open in both parties.",
		"The next race for governor is two years away, but the jockeying has already begun.\n\nWith the governor barred from seeking a third term, party officials in both parties say they expect crowded primaries. Among the names mentioned most often: two state senators, a former mayor of Port Alder and at least one business executive with the means to pay for a campaign.\n\nNone has said publicly that they will run.\n"},
	{"After 2024, both parties see New Essex as up for grabs in 2026", "A split result in November leaves strategists in both parties optimistic.",
		"New Essex voters split their tickets again in November, and both parties are reading the results as good news for 2026.\n\n- **Democrats** point to gains in the suburbs around Port Alder.\n- **Republicans** point to record turnout in the Central Plains and Southern Hills.\n\nThe state has not elected a governor of the same party three times in a row since the 1980s.\n"},
	{"The 2026 calendar: key dates for candidates and voters", "Filing deadlines, the June primary and Election Day.",
		"Mark your calendars:\n\n1. **March 10, 2026:** special election in State House District 41.\n2. **April 3, 2026:** filing deadline for candidates.\n3. **June 2, 2026:** primary election.\n4. **November 3, 2026:** general election.\n"},
	{"Lawmakers weigh changes to the state's recount law", "A proposal would raise the automatic-recount threshold to one percentage point.",
		"A bipartisan group of state senators has proposed raising the margin that triggers an automatic recount from half a percentage point to a full point.\n\nSupporters say the change would build confidence in close results; county clerks warn it would cost money and time. The bill is not expected to pass before 2026.\n"},
	{"Secretary of State announces new ballot scanners for all 60 counties", "The $14 million upgrade will be in place for the 2026 elections.",
		"Every county in New Essex will use new ballot scanners by the 2026 primary, the Secretary of State announced Thursday.\n\nThe machines produce a paper record of every ballot and can be audited by hand. Counties will receive training in the spring.\n"},
	{"The year in New Essex politics, in five charts", "Turnout, money and a map that keeps changing.",
		"2024 was a busy year in New Essex politics. A few things stood out:\n\n- Turnout reached its highest level since 2008.\n- Mail ballots made up a third of all votes.\n- The most expensive legislative race cost more than $2 million.\n\nAll of it sets up a 2026 election with an open governor's seat and control of the state senate at stake.\n"},
}

const electionNightBody = `Polls closed at 8 p.m. across New Essex on Tuesday, and county clerks began reporting the first results — mail ballots received before Election Day — shortly after.

Voters who were in line at 8 p.m. are allowed to vote. Several precincts in Port Alder and Kettering expected to stay open past 9 p.m.

## When to expect results

- **8:30 p.m.:** Early and mail ballots from most counties.
- **10 p.m.:** Election Day ballots from smaller counties.
- **After midnight:** Harbor County, the state's largest, usually finishes last.

Follow every race on our [results page](/races/).
`

var explainers = []struct {
	title, dek, body string
	date             time.Time
}{
	{"How to register to vote in New Essex", "Deadlines, documents and how to check your registration.", explainerRegister, day(2026, 1, 12)},
	{"How to vote by mail in New Essex", "Any registered voter can vote by mail. Here is how.", explainerMail, day(2026, 8, 24)},
	{"When will we know the results?", "Close races can take days to call. That is normal, and here is why.", explainerResults, day(2026, 10, 20)},
	{"What's on the ballot in New Essex this November", "From governor to state senate, every race on the 2026 ballot.", explainerBallot, day(2026, 9, 8)},
	{"How the Courier calls races", "We declare a winner only when the trailing candidate cannot catch up.", explainerCalls, day(2026, 10, 30)},
	{"Where to find early voting locations", "Early voting runs October 19 to October 31 in every county.", explainerEarly, day(2026, 10, 12)},
	{"What the special election in House District 41 tells us", "Low turnout, high stakes, and a result both parties claim as a sign.", explainerSpecial, day(2026, 3, 12)},
}

const explainerRegister = `You can register to vote in New Essex if you are a U.S. citizen, at least 18 years old by Election Day, and a resident of the state for 30 days.

## Deadlines

- **Online or by mail:** October 13, 2026.
- **In person at your county clerk's office:** up to and including Election Day.

## What you need

A New Essex driver's license or state ID number, or the last four digits of your Social Security number.

Check your registration, find your polling place and see a sample ballot on the Secretary of State's website.
`

const explainerMail = `Every registered voter in New Essex may vote by mail. No excuse is needed.

1. **Request a ballot** from your county clerk by October 27.
2. **Fill it out** in blue or black ink and sign the envelope. A missing signature is the most common reason ballots are rejected.
3. **Return it** by mail, postmarked by Election Day, or drop it at any official drop box by 8 p.m. on November 3.

You can track your ballot online. If it is rejected, the clerk must contact you, and you have until November 10 to fix the problem.
`

const explainerResults = `On election night, the first numbers you see are mail ballots that arrived early. Election Day votes come next, and late-arriving mail ballots can take several days.

## Why it takes time

Clerks verify every mail-ballot signature. Ballots postmarked by Election Day count if they arrive by November 10.

## What "too close to call" means

We do not call a race until the trailing candidate cannot catch up with the votes left to count. In a close race that can take a week. A margin under half a percentage point triggers an automatic recount.

Follow every race on our [results page](/races/).
`

const explainerBallot = `Voters in New Essex will choose a governor, a U.S. senator, every statewide executive office, all eight members of the U.S. House and half of the state senate.

## Statewide

- [Governor](/races/governor/) — an open seat.
- [U.S. Senate](/races/us-senate/)
- [Attorney General](/races/attorney-general/), [Secretary of State](/races/secretary-of-state/), [State Treasurer](/races/state-treasurer/) and [Lieutenant Governor](/races/lieutenant-governor/).
- [Supreme Court, Seat 3](/races/supreme-court-seat-3/) — a nonpartisan retention race.

## Districts

Every [U.S. House](/offices/us-house/) seat and twelve [State Senate](/offices/state-senate/) seats.
`

const explainerCalls = `The Courier declares a winner when our analysis shows that the candidate trailing cannot overtake the leader with the ballots that remain to be counted.

We base that on results reported by the 60 county clerks and on each county's estimate of outstanding ballots. We do not use exit polls to call races.

When we call a race, the race page shows a check mark next to the winner. If a race later goes to a recount, we say so on the race page.

Questions? Write to the election desk at elections@courier.example.
`

const explainerEarly = `Every county offers at least one early voting site from October 19 to October 31, including two Saturdays.

- **Hours:** 8 a.m. to 6 p.m. on weekdays, 9 a.m. to 3 p.m. on Saturdays.
- **What to bring:** a photo ID or a utility bill with your name and address.
- **Where:** usually the county courthouse or the county clerk's office. Harbor County has twelve sites.

Lines are usually shortest in the first week.
`

const explainerSpecial = `The special election in State House District 41, covering Linden and Morrow counties, drew barely four in ten registered voters — typical for a March ballot with a single race on it.

Both parties spent heavily, and both claimed the result as a sign of things to come in November.

> Special elections tell you who is motivated. They don't tell you who will win in the fall.

The seat was vacant after the resignation of its previous holder in December. [See the results](/races/state-house-district-41-special/).
`

// ---------------------------------------------------------------- output

func (g *gen) write(w io.Writer) {
	fmt.Fprintf(w, `-- The newsroom example: the 2026 general election in New Essex, a fictional
-- state, as covered by The New Essex Courier (also fictional). Every name,
-- place and number here is made up.
--
-- Generated by examples/newsroom/internal/gen; do not edit. To regenerate:
--   cd examples/newsroom && go run ./internal/gen -o seed.sql
--
-- Tables: counties %d, races %d, candidates %d, results %d, reporting %d,
-- articles %d, redirects %d.

BEGIN;

CREATE TABLE counties (
  id                INTEGER PRIMARY KEY,
  slug              TEXT NOT NULL UNIQUE,
  name              TEXT NOT NULL,
  seat              TEXT NOT NULL,   -- county seat
  region            TEXT NOT NULL,
  population        INTEGER NOT NULL,
  registered_voters INTEGER NOT NULL,
  house_district    INTEGER NOT NULL,
  senate_district   INTEGER NOT NULL
);

CREATE TABLE races (
  id            INTEGER PRIMARY KEY,
  slug          TEXT NOT NULL UNIQUE,
  title         TEXT NOT NULL,   -- "U.S. House District 3"
  office        TEXT NOT NULL,   -- "U.S. House"
  office_slug   TEXT NOT NULL,
  district      TEXT,            -- NULL for statewide races
  level         TEXT NOT NULL,   -- Federal, Statewide, Judicial, Legislative
  election_date DATE NOT NULL,
  status        TEXT NOT NULL,   -- called, too close to call, recount, counting, uncontested
  pct_reporting INTEGER NOT NULL, -- share of the expected vote counted
  summary       TEXT NOT NULL,
  sort_order    INTEGER NOT NULL,
  updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE candidates (
  id           INTEGER PRIMARY KEY,
  race_id      INTEGER NOT NULL REFERENCES races (id),
  slug         TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL,
  party        TEXT NOT NULL,
  party_code   TEXT NOT NULL,    -- D, R, L, G, NP
  incumbent    BOOLEAN NOT NULL DEFAULT 0,
  winner       BOOLEAN NOT NULL DEFAULT 0, -- set when the race is called
  ballot_order INTEGER NOT NULL,
  hometown     TEXT NOT NULL,
  bio          TEXT NOT NULL     -- Markdown
);

CREATE TABLE results (
  race_id      INTEGER NOT NULL REFERENCES races (id),
  candidate_id INTEGER NOT NULL REFERENCES candidates (id),
  county_id    INTEGER NOT NULL REFERENCES counties (id),
  votes        INTEGER NOT NULL,
  PRIMARY KEY (race_id, candidate_id, county_id)
);
CREATE INDEX results_candidate ON results (candidate_id);
CREATE INDEX results_county ON results (county_id);

CREATE TABLE reporting (
  race_id       INTEGER NOT NULL REFERENCES races (id),
  county_id     INTEGER NOT NULL REFERENCES counties (id),
  pct_reporting INTEGER NOT NULL, -- share of the county's expected vote counted
  updated_at    TIMESTAMP NOT NULL,
  PRIMARY KEY (race_id, county_id)
);

CREATE TABLE articles (
  id           INTEGER PRIMARY KEY,
  slug         TEXT NOT NULL UNIQUE,
  title        TEXT NOT NULL,
  dek          TEXT NOT NULL,    -- the summary line under the headline
  body         TEXT NOT NULL,    -- Markdown
  author       TEXT NOT NULL,
  section      TEXT NOT NULL,
  race_id      INTEGER REFERENCES races (id),
  county_id    INTEGER REFERENCES counties (id),
  published    BOOLEAN NOT NULL DEFAULT 0,
  published_at TIMESTAMP NOT NULL,
  updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX articles_published ON articles (published, published_at);
CREATE INDEX articles_race ON articles (race_id);

CREATE TABLE redirects (
  source TEXT PRIMARY KEY,   -- old path
  target TEXT NOT NULL       -- new path
);

`, len(g.counties), len(g.races), len(g.cands), len(g.results), len(g.tallies), len(g.articles), len(g.redirects))

	ins := newInserter(w)
	ins.start("counties", "id, slug, name, seat, region, population, registered_voters, house_district, senate_district")
	for _, c := range g.counties {
		ins.row(c.id, c.slug, c.name, c.seat, c.region, c.population, c.registered, c.house, c.senate)
	}
	ins.start("races", "id, slug, title, office, office_slug, district, level, election_date, status, pct_reporting, summary, sort_order, updated_at")
	for _, r := range g.races {
		var district any
		if r.district != "" {
			district = r.district
		}
		ins.row(r.id, r.slug, r.title, r.office, r.officeSlug, district, r.level, r.date.Format(time.DateOnly), r.status, r.reporting, r.summary, r.sort, r.updated)
	}
	ins.start("candidates", "id, race_id, slug, name, party, party_code, incumbent, winner, ballot_order, hometown, bio")
	for _, c := range g.cands {
		ins.row(c.id, c.race.id, c.slug, c.name, c.party, c.code, c.incumbent, c.winner, c.order, c.hometown, c.bio)
	}
	ins.start("results", "race_id, candidate_id, county_id, votes")
	for _, r := range g.results {
		ins.row(r.race, r.cand, r.county, r.votes)
	}
	ins.start("reporting", "race_id, county_id, pct_reporting, updated_at")
	for _, t := range g.tallies {
		ins.row(t.race, t.county, t.pct, t.updated)
	}
	ins.start("articles", "id, slug, title, dek, body, author, section, race_id, county_id, published, published_at, updated_at")
	for _, a := range g.articles {
		var race, county any
		if a.race != nil {
			race = a.race.id
		}
		if a.county != nil {
			county = a.county.id
		}
		ins.row(a.id, a.slug, a.title, a.dek, a.body, a.author, a.section, race, county, a.published, a.publishedAt, a.updated)
	}
	ins.start("redirects", "source, target")
	for _, r := range g.redirects {
		ins.row(r[0], r[1])
	}
	ins.end()
	fmt.Fprintf(w, "\nCOMMIT;\n")
}

// inserter writes multi-row INSERT statements, 100 rows each.
type inserter struct {
	w           io.Writer
	table, cols string
	n           int
}

func newInserter(w io.Writer) *inserter { return &inserter{w: w} }

func (in *inserter) start(table, cols string) {
	in.end()
	in.table, in.cols = table, cols
}

func (in *inserter) end() {
	if in.n > 0 {
		fmt.Fprint(in.w, ";\n")
	}
	in.n = 0
}

func (in *inserter) row(vals ...any) {
	if in.n == 100 {
		in.end()
	}
	if in.n == 0 {
		fmt.Fprintf(in.w, "\nINSERT INTO %s (%s) VALUES\n", in.table, in.cols)
	} else {
		fmt.Fprint(in.w, ",\n")
	}
	in.n++
	fmt.Fprint(in.w, "(")
	for i, v := range vals {
		if i > 0 {
			fmt.Fprint(in.w, ", ")
		}
		fmt.Fprint(in.w, sqlValue(v))
	}
	fmt.Fprint(in.w, ")")
}

func sqlValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int:
		return fmt.Sprint(v)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case time.Time:
		return "'" + v.Format(time.DateTime) + "'"
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	panic(fmt.Sprintf("sqlValue: %T", v))
}

// ---------------------------------------------------------------- text

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case r == '\'' || r == '’' || r == '.':
		default:
			dash = true
		}
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
