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
	"io"
	"log"
	"math/rand/v2"
	"os"
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
