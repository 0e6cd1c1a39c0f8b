package main

// The counties of New Essex: names, towns, regions, voters.

import (
	"math"
	"slices"
)

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
