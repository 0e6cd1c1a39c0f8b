// Package benchsite generates the benchmark workload of bake: a site folder
// (bake.toml, templates and static files) and the database it renders.
//
// The workload is described in the bench README: one table, items, of N
// rows generated deterministically from a seed, and a site with a home page,
// a paginated list, paginated category lists, one page per item, RSS and Atom
// feeds, a sitemap and a not-found page. Every performance figure of bake is
// measured on it, so that it can be compared with the same site built by other
// tools.
//
// A benchmark run writes the site with [WriteSite], fills the database with
// [Populate], builds, then applies one change with [Mutate] and rebuilds.
package benchsite

import (
	"fmt"
	"strings"
	"time"
)

// Options sets the size and content of the generated data.
type Options struct {
	// Items is the number of rows of the items table. If zero, 1000.
	Items int
	// Seed selects the generated content: the same Items and Seed give the
	// same rows. If zero, 1.
	Seed int64
}

func (o Options) withDefaults() Options {
	if o.Items == 0 {
		o.Items = 1000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Dialects accepted by [Populate] and [Mutate].
const (
	// DialectSQLite is SQLite (modernc.org/sqlite): ? placeholders.
	DialectSQLite = "sqlite"
	// DialectPostgres is PostgreSQL: $1, $2, … placeholders.
	DialectPostgres = "postgres"
)

// Kinds of change accepted by [Mutate].
const (
	// MutateTitle changes the title of the published row at the middle of
	// the table, and nothing else.
	MutateTitle = "title"
	// MutateUnpublish sets published to false on the published row at the
	// middle of the table.
	MutateUnpublish = "unpublish"
	// MutateInsert inserts one published row with the next id and the
	// latest updated_at.
	MutateInsert = "insert"
	// MutateDelete deletes the published row at the middle of the table.
	MutateDelete = "delete"
)

// Epoch is the updated_at of row 0: row id has updated_at Epoch + id minutes.
var Epoch = time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)

// Categories are the 20 values of the category column, in order.
var Categories = [20]string{
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
	"india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
	"quebec", "romeo", "sierra", "tango",
}

// UpdatedAt returns the updated_at of the row with the given id.
func UpdatedAt(id int64) time.Time {
	return Epoch.Add(time.Duration(id) * time.Minute)
}

// dialect holds what differs between the SQL databases.
type dialect struct {
	name string
}

func newDialect(name string) (dialect, error) {
	switch name {
	case DialectSQLite, DialectPostgres:
		return dialect{name: name}, nil
	}
	return dialect{}, fmt.Errorf("unknown dialect %q (want %q or %q)", name, DialectSQLite, DialectPostgres)
}

// rebind turns the ? placeholders of q into $1, $2, … on PostgreSQL.
// The queries of this package have no ? inside literals.
func (d dialect) rebind(q string) string {
	if d.name != DialectPostgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(q)/2)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		fmt.Fprintf(&b, "$%d", n)
	}
	return b.String()
}

// timestamp returns the value to store in updated_at. SQLite gets the text
// form its date functions understand and the driver parses back into a
// time.Time (the column is declared TIMESTAMP); PostgreSQL gets a time.Time.
func (d dialect) timestamp(t time.Time) any {
	if d.name == DialectSQLite {
		return t.UTC().Format(time.DateTime)
	}
	return t.UTC()
}
