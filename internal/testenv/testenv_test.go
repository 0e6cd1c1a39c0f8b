package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPostgresURLDecision(t *testing.T) {
	const a, b = "postgres://a/x", "postgres://b/y"
	tests := []struct {
		name    string
		env     map[string]string
		wantURL string
		want    action
	}{
		{"unset", nil, "", skip},
		{"unset CI", map[string]string{"CI": "true"}, "", fail},
		{"unset CI=1", map[string]string{"CI": "1"}, "", fail},
		{"unset CI=false", map[string]string{"CI": "false"}, "", skip},
		{"blank", map[string]string{PostgresURLEnv: "  "}, "", skip},
		{"bake", map[string]string{PostgresURLEnv: a}, a, use},
		{"bake CI", map[string]string{PostgresURLEnv: a, "CI": "true"}, a, use},
		{"fallback", map[string]string{FallbackPostgresURLEnv: b}, b, use},
		{"bake wins", map[string]string{PostgresURLEnv: a, FallbackPostgresURLEnv: b}, a, use},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, act := postgresURL(env(tt.env))
			if u != tt.wantURL || act != tt.want {
				t.Errorf("postgresURL = %q, %v; want %q, %v", u, act, tt.wantURL, tt.want)
			}
		})
	}
}

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "TRUE": true, "false": false, "0": false, "yes": false} {
		if got := inCI(env(map[string]string{"CI": v})); got != want {
			t.Errorf("CI=%q: inCI = %v, want %v", v, got, want)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u@h:5/db", "postgres://u@h:5/db?search_path=s"},
		{"postgresql://u@h/db?sslmode=disable", "postgresql://u@h/db?search_path=s&sslmode=disable"},
		{"postgres://h/db?search_path=public", "postgres://h/db?search_path=s"},
		{"host=h dbname=db", "host=h dbname=db search_path=s"},
	}
	for _, tt := range tests {
		got, err := withSearchPath(tt.in, "s")
		if err != nil {
			t.Fatalf("withSearchPath(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("withSearchPath(%q) (-want +got):\n%s", tt.in, diff)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("pgx.ParseConfig(%q): %v", got, err)
		}
		if sp := cfg.RuntimeParams["search_path"]; sp != "s" {
			t.Errorf("pgx.ParseConfig(%q): search_path = %q, want s", got, sp)
		}
	}
	if _, err := withSearchPath("postgres://h/%zz", "s"); err == nil {
		t.Error("withSearchPath(bad URL): no error")
	}
}

// TestHelperProcess is run by TestPostgresURLMissing in a subprocess.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("TESTENV_HELPER") != "1" {
		t.Skip("helper for TestPostgresURLMissing")
	}
	fmt.Printf("url=%s\n", PostgresURL(t))
}

// TestPostgresURLMissing checks that PostgresURL really skips or fails a test, by
// running TestHelperProcess in a subprocess with a controlled environment.
func TestPostgresURLMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a subprocess")
	}
	tests := []struct {
		name     string
		env      []string
		wantFail bool
		want     string
	}{
		{"skip", nil, false, "--- SKIP: TestHelperProcess"},
		{"skip message", nil, false, "scripts/test"},
		{"fail in CI", []string{"CI=true"}, true, "--- FAIL: TestHelperProcess"},
		{"use", []string{PostgresURLEnv + "=postgres://x/y"}, false, "url=postgres://x/y"},
		{"use in CI", []string{"CI=true", FallbackPostgresURLEnv + "=postgres://z/w"}, false, "url=postgres://z/w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
			cmd.Env = append(cleanEnv(), "TESTENV_HELPER=1")
			cmd.Env = append(cmd.Env, tt.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("run helper: %v", err)
			}
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("helper failed = %v, want %v; output:\n%s", failed, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("helper output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

// cleanEnv is os.Environ without the variables this package reads.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "CI" && k != PostgresURLEnv && k != FallbackPostgresURLEnv {
			env = append(env, kv)
		}
	}
	return env
}

func TestPostgresSchema(t *testing.T) {
	base := PostgresURL(t)
	ctx := context.Background()
	connect := func(t *testing.T, connString string) *pgx.Conn {
		t.Helper()
		conn, err := pgx.Connect(ctx, connString)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	schemaExists := func(t *testing.T, schema string) bool {
		t.Helper()
		var n int
		err := connect(t, base).QueryRow(ctx,
			"SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	var schemas []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			u := PostgresSchema(t)
			pu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			schema := pu.Query().Get("search_path")
			if !strings.HasPrefix(schema, "bake_test_") {
				t.Fatalf("search_path = %q, want bake_test_*", schema)
			}
			schemas = append(schemas, schema)
			if !schemaExists(t, schema) {
				t.Fatalf("schema %s was not created", schema)
			}

			conn := connect(t, u) // closed before the schema is dropped
			if _, err := conn.Exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, name text)"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "INSERT INTO items VALUES (1, 'a')"); err != nil {
				t.Fatal(err)
			}
			var got string
			err = connect(t, base).QueryRow(ctx,
				"SELECT table_schema FROM information_schema.tables WHERE table_name = 'items' AND table_schema = $1",
				schema).Scan(&got)
			if err != nil {
				t.Fatalf("table items not in schema %s: %v", schema, err)
			}
			var current string
			if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&current); err != nil {
				t.Fatal(err)
			}
			if current != schema {
				t.Errorf("current_schema() = %q, want %q", current, schema)
			}
		})
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas = %q, want two different ones", schemas)
	}
	for _, s := range schemas {
		if schemaExists(t, s) {
			t.Errorf("schema %s still exists after its test ended", s)
		}
	}
}
