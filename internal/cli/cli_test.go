package cli

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func runMain() int {
	return Run(context.Background(), os.Args[1:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
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
	})
}
