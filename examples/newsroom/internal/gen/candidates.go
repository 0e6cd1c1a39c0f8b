package main

// The candidates: names, parties, biographies.

import (
	"fmt"
	"strings"
)

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
