package main

// Fixed texts: the notebook, early-voting notes, explainers.

import "time"

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
