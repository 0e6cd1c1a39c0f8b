// Package testenv gives tests the real services they need, such as a PostgreSQL
// database, and decides what happens when a service is missing: the test skips
// locally and fails under CI=true, so CI never passes by skipping.
//
// scripts/test starts the services and exports their URLs; run the tests with it:
//
//	scripts/test ./jobs/...
//
// A test that needs PostgreSQL takes a fresh schema of its own, so tests can run in
// parallel against one database and leave nothing behind:
//
//	conn, err := pgx.Connect(ctx, testenv.PostgresSchema(t))
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by this package.
const (
	// PostgresURLEnv names the variable holding the PostgreSQL URL for tests;
	// scripts/test sets it.
	PostgresURLEnv = "BAKE_TEST_DATABASE_URL"
	// FallbackPostgresURLEnv names the variable read when PostgresURLEnv is unset.
	FallbackPostgresURLEnv = "DATABASE_URL"
)

// setupTimeout bounds each connect-and-run-DDL step of a helper.
const setupTimeout = 30 * time.Second

// InCI reports whether the tests run in CI: the CI environment variable is true,
// as GitHub Actions, GitLab CI and most others set it (any true value of
// strconv.ParseBool, such as 1, counts).
func InCI() bool { return inCI(os.Getenv) }

func inCI(getenv func(string) string) bool {
	ci, err := strconv.ParseBool(getenv("CI"))
	return err == nil && ci
}

// PostgresURL returns the URL of the PostgreSQL database for tests, from
// BAKE_TEST_DATABASE_URL or else DATABASE_URL. When neither is set it skips t, or
// fails t when InCI. Tests that create tables should use PostgresSchema instead.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u, act := postgresURL(os.Getenv)
	switch act {
	case fail:
		t.Fatal(missingPostgres + " (in CI a missing service is an error)")
	case skip:
		t.Skip(missingPostgres + "; run the tests with scripts/test, which starts one")
	}
	return u
}

// PostgresSchema creates a new, empty schema named bake_test_<random> in the
// database of PostgresURL and returns a URL whose connections use it: tables and
// other objects created without a schema name land in it. The schema is dropped with
// everything in it when the test ends; a connection left inside a transaction would
// block that, so close connections in a t.Cleanup registered after this call (it runs
// before the drop). It skips or fails t as PostgresURL does, and fails t if the
// database cannot be reached.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	schema := "bake_test_" + randomHex(8)
	ident := pgx.Identifier{schema}.Sanitize()
	schemaURL, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("testenv: %s: %v", PostgresURLEnv, err)
	}
	if err := execSQL(base, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("testenv: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := execSQL(base, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
		}
	})
	return schemaURL
}

const missingPostgres = "testenv: no PostgreSQL for this test: " + PostgresURLEnv + " and " +
	FallbackPostgresURLEnv + " are unset"

// action is what a helper does about its service.
type action int

const (
	use  action = iota // configured: use it
	skip               // not configured, local run: skip the test
	fail               // not configured, CI: fail the test
)

func (a action) String() string { return [...]string{"use", "skip", "fail"}[a] }

// postgresURL decides PostgresURL from the environment, without a testing.TB.
func postgresURL(getenv func(string) string) (string, action) {
	for _, k := range []string{PostgresURLEnv, FallbackPostgresURLEnv} {
		if u := strings.TrimSpace(getenv(k)); u != "" {
			return u, use
		}
	}
	if inCI(getenv) {
		return "", fail
	}
	return "", skip
}

// withSearchPath returns connString, a postgres:// URL or a key=value DSN, with
// its search_path run-time parameter set to schema.
func withSearchPath(connString, schema string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse URL: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	// key=value form; a later key wins in pgconn.ParseConfig.
	return connString + " search_path=" + schema, nil
}

// execSQL runs one statement on a fresh connection to connString.
func execSQL(connString, query string) error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, query)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error
	return hex.EncodeToString(b)
}
