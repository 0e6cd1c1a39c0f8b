package cli

import (
	"context"
	"database/sql"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// runMain runs bake as cmd/bake does: Ctrl-C and SIGTERM cancel the
// context, so a test can stop bake watch or bake serve cleanly.
func runMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}

func TestMain(m *testing.M) {
	if os.Getenv("BAKE_TEST_MAIN") == "1" {
		os.Exit(runMain())
	}
	testscript.Main(m, map[string]func(){
		"bake": func() { os.Exit(runMain()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
		Cmds:                map[string]func(ts *testscript.TestScript, neg bool, args []string){"sqlexec": sqlexec},
	})
}

// sqlexec runs SQL statements on an SQLite file: sqlexec FILE SQL...
func sqlexec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: sqlexec FILE SQL...")
	}
	db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0])+"?_pragma=busy_timeout(10000)")
	if err != nil {
		ts.Fatalf("sqlexec: %v", err)
	}
	defer db.Close()
	for _, q := range args[1:] {
		_, err = db.Exec(q)
		if err != nil {
			break
		}
	}
	if err != nil && !neg {
		ts.Fatalf("sqlexec: %v", err)
	}
	if err == nil && neg {
		ts.Fatalf("sqlexec: unexpected success")
	}
}
