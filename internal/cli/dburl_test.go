package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRedact: every form a secret takes in a database URL is hidden, and
// nothing else is.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"sqlite file", "site.db", "site.db"},
		{"sqlite uri", "file:site.db?mode=ro", "file:site.db?mode=ro"},
		{"sqlite uri with key", "file:site.db?mode=ro&key=abc", "file:site.db?mode=ro&key=xxxxx"},
		{"no password", "postgres://bake@db.internal:5432/news", "postgres://bake@db.internal:5432/news"},
		{"no userinfo", "postgres://db.internal/news?sslmode=require", "postgres://db.internal/news?sslmode=require"},
		{"userinfo password", "postgres://bake:hunter2@db.internal/news", "postgres://bake:xxxxx@db.internal/news"},
		{"postgresql scheme", "postgresql://bake:hunter2@db/news", "postgresql://bake:xxxxx@db/news"},
		{"upper-case scheme", "POSTGRES://bake:hunter2@db/news", "POSTGRES://bake:xxxxx@db/news"},
		{"empty user", "postgres://:hunter2@db/news", "postgres://:xxxxx@db/news"},
		{"empty password", "postgres://bake:@db/news", "postgres://bake:xxxxx@db/news"},
		{"encoded password", "postgres://bake:p%40ss%2Fw@db/news", "postgres://bake:xxxxx@db/news"},
		{"@ in password", "postgres://bake:p@ss@db/news", "postgres://bake:xxxxx@db/news"},
		{"colon in password", "postgres://bake:a:b@db/news", "postgres://bake:xxxxx@db/news"},
		{"slash in password", "postgres://bake:pa/ss@db/news", "postgres://bake:xxxxx@db/news"},
		{"question mark in password", "postgres://bake:pa?ss@db/news", "postgres://bake:xxxxx@db/news"},
		{"hash in password", "postgres://bake:pa#ss@db/news", "postgres://bake:xxxxx@db/news"},
		{"bad escape in password", "postgres://bake:p%zz@db/news?sslmode=disable", "postgres://bake:xxxxx@db/news?sslmode=disable"},
		{"query password", "postgres://db/news?user=bake&password=hunter2", "postgres://db/news?user=bake&password=xxxxx"},
		{"query password first", "postgres://db/news?password=hunter2&sslmode=require", "postgres://db/news?password=xxxxx&sslmode=require"},
		{"query sslpassword", "postgres://db/news?sslpassword=s3cret&sslmode=verify-full", "postgres://db/news?sslpassword=xxxxx&sslmode=verify-full"},
		{"query sslkey", "postgres://db/news?sslcert=c.pem&sslkey=k.pem", "postgres://db/news?sslcert=c.pem&sslkey=xxxxx"},
		{"query key upper case", "postgres://db/news?PASSWORD=hunter2", "postgres://db/news?PASSWORD=xxxxx"},
		{"query key encoded", "postgres://db/news?pass%77ord=hunter2", "postgres://db/news?pass%77ord=xxxxx"},
		{"query empty password", "postgres://db/news?password=", "postgres://db/news?password=xxxxx"},
		{"query and fragment", "postgres://db/news?password=hunter2#x", "postgres://db/news?password=xxxxx#x"},
		{"both", "postgres://bake:one@db/news?password=two", "postgres://bake:xxxxx@db/news?password=xxxxx"},
		{"@ in a query value", "postgres://db:5432/news?application_name=a@b", "postgres://db:5432/news?application_name=a@b"},
		{"other scheme", "mysql://root:hunter2@db/news", "mysql://root:xxxxx@db/news"},
		{"keywords", "host=db dbname=news user=bake password=hunter2", "host=db dbname=news user=bake password=xxxxx"},
		{"keywords password first", "password=hunter2 host=db", "password=xxxxx host=db"},
		{"keywords quoted", "host=db password='hunter 2' dbname=news", "host=db password=xxxxx dbname=news"},
		{"keywords quoted escapes", `host=db password='it\'s a \\ secret' dbname=news`, "host=db password=xxxxx dbname=news"},
		{"keywords escaped space", `host=db password=hunter\ 2 dbname=news`, "host=db password=xxxxx dbname=news"},
		{"keywords spaces around =", "host = db password = hunter2", "host = db password = xxxxx"},
		{"keywords tabs and newlines", "host=db\n\tpassword=hunter2\tdbname=news", "host=db\n\tpassword=xxxxx\tdbname=news"},
		{"keywords sslpassword and sslkey", "host=db sslkey=/k.pem sslpassword=s3cret", "host=db sslkey=xxxxx sslpassword=xxxxx"},
		{"keywords empty password", "host=db password='' dbname=news", "host=db password=xxxxx dbname=news"},
		{"keywords space after =", "host=db password= dbname=news", "host=db password= xxxxx"}, // libpq: the password is dbname=news
		{"keywords unterminated quote", "host=db password='hunter 2", "host=db password=xxxxx"},
		{"keywords broken after password", "host=db password=hunter 2 dbname=news", "host=db password=xxxxx"},
		{"keywords broken before password", "host='db password=hunter2", "host=xxxxx"},
		{"keywords without password", "host=db dbname=news", "host=db dbname=news"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, redact(tc.in)); diff != "" {
				t.Errorf("redact(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestDatabaseKind: keyword/value strings are PostgreSQL, as pgx and psql
// read them; strings that only look like one are refused, never taken for
// an SQLite file name.
func TestDatabaseKind(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      string // in the error, if one is wanted
	}{
		{in: "site.db", want: sqlsite.SQLite},
		{in: "data/site.db", want: sqlsite.SQLite},
		{in: "/srv/site.db", want: sqlsite.SQLite},
		{in: "./site=1.db", want: sqlsite.SQLite},
		{in: "sqlite:site.db", want: sqlsite.SQLite},
		{in: "file:site.db?mode=ro", want: sqlsite.SQLite},
		{in: "file:a=b.db", want: sqlsite.SQLite},
		{in: "my site.db", want: sqlsite.SQLite},
		{in: "postgres://bake@db/news", want: sqlsite.Postgres},
		{in: "postgresql://db/news", want: sqlsite.Postgres},
		{in: "host=db dbname=news", want: sqlsite.Postgres},
		{in: "  dbname=news", want: sqlsite.Postgres},
		{in: "host = /var/run/postgresql user=bake", want: sqlsite.Postgres},
		{in: "application_name=bake search_path=news user=bake password='a b'", want: sqlsite.Postgres},
		{in: "service=news", want: sqlsite.Postgres},
		{in: "site=1.db", err: "names no connection keyword"},
		{in: "search_path=news", err: "names no connection keyword"},
		{in: "host='db password=hunter2", err: "cannot be read: unterminated quoted value 1"},
		{in: "host=db password=hunter 2", err: "cannot be read: missing \"=\" after keyword 3"},
		{in: "mysql://root:hunter2@db/news", err: "not mysql"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := databaseKind(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("databaseKind(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("databaseKind(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestHideSecrets: pgx's parse errors keep only what is wrong, never the
// connection string pgx redacts on a best-effort basis; other errors that
// quote a password are replaced; the rest pass through as they were.
func TestHideSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, u string
		err     error  // if nil, pgconn.ParseConfig(u)'s
		want    string // the message wanted, or a part of it
	}{
		{"no password", "postgres://bake@db/news", errors.New("connection refused"), "connection refused"},
		{"password not in message", "postgres://bake:hunter2@db/news", errors.New("connection refused"), "connection refused"},
		{"url password quoted", "postgres://bake:hunter2@db/news", errors.New(`parse "postgres://bake:hunter2@db/news": bad`), "the driver's message is not shown"},
		{"encoded url password", "postgres://bake:hunt%65r2@db/news", errors.New(`invalid ":hunter2"`), "the driver's message is not shown"},
		{"query password", "postgres://db/news?password=hunter2", errors.New(`cannot parse password=hunter2`), "the driver's message is not shown"},
		{"pgx url", "postgres://bake:hunter2@db:abc/news", nil, "cannot parse the connection string: invalid port"},
		{"pgx bad escape", "postgres://bake:hunter2%zz@db/news", nil, "cannot parse the connection string: failed to parse as URL (invalid percent-encoded token in password)"},
		{"pgx keywords quoted", `host=db port=abc password='hunter\'s 2'`, nil, "cannot parse the connection string: invalid port"},
		{"pgx keywords escaped", `host=db port=abc password=hun\ ter2`, nil, "cannot parse the connection string: invalid port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			if err == nil {
				_, err = pgconn.ParseConfig(tc.u)
			}
			got := hideSecrets(err, tc.u).Error()
			if !strings.Contains(got, tc.want) {
				t.Errorf("hideSecrets(%q) = %s; want %s", err, got, tc.want)

			}
			for _, s := range []string{"hunter", "ter2", "s 2"} {
				if strings.Contains(got, s) {
					t.Errorf("hideSecrets(%q) = %s: shows %s", err, got, s)
				}
			}
		})
	}
}

// TestOpenDBKeywords: a keyword/value string is opened as PostgreSQL,
// even with a seed set: no SQLite file is created under its name, and the
// error does not show the password.
func TestOpenDBKeywords(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/seed.sql", []byte("CREATE TABLE t (id INTEGER);"), 0o644)
	for _, u := range []string{
		"host=127.0.0.1 port=1 dbname=news user=bake password=hunter2 connect_timeout=5 sslmode=disable",
		"postgres://bake:hunter2@127.0.0.1:1/news?connect_timeout=5&sslmode=disable",
		"postgres://127.0.0.1:1/news?user=bake&password=hunter2&connect_timeout=5&sslmode=disable",
		"postgres://bake:hunter2@127.0.0.1:abc/news",
		"host=127.0.0.1 port=1 password=hunter2 sslmode=nonsense",
	} {
		t.Run(u, func(t *testing.T) {
			t.Setenv("BAKE_DATABASE_URL", u)
			db, dialect, err := openDB(context.Background(), dir, DatabaseConfig{Seed: "seed.sql"}, 1, 0)
			if err == nil {
				db.Close()
				t.Fatalf("openDB = %s; want a connection error", dialect)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), "open database ") {
				t.Errorf("err = %v; want it to start with open database", err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "seed.sql" {
					t.Errorf("openDB created %s", e.Name())
				}
			}
		})
	}
}
