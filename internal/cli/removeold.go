package cli

// Removing a replaced build in a process of its own: on a slow disk,
// removing a million files takes minutes, and the new build is live before
// that starts, so bake build returns and leaves the removal to a detached
// child, as git gc --auto does. A build that begins before the child is
// done removes the same folders too (both ignore what the other removed).

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/bakehq/bake/output"
	"github.com/spf13/cobra"
)

// removeOldCmd is the hidden command that the detached child runs.
func removeOldCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "remove-old OUTPUT FOLDER...",
		Short:  "Remove folders that builds of OUTPUT replaced or left (run by bake build itself)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return removeOld(args[0], args[1:])
		},
	}
}

// removeOld removes paths, each of which must be a folder that a build of
// output folder final left beside it: the command removes nothing else.
func removeOld(final string, paths []string) error {
	for _, p := range paths {
		if !filepath.IsAbs(p) || !output.IsLeftover(final, p) {
			return fmt.Errorf("remove-old: %s is not a folder a build of %s left; nothing removed", p, final)
		}
	}
	lowerPriority()
	var errs []error
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove-old: %w", err)
	}
	return nil
}

// removeInBackground starts a detached bake remove-old for the folders a
// full build of final left, and does not wait for it.
func removeInBackground(final string) func(paths []string) error {
	return func(paths []string) error {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("start removal: %w", err)
		}
		abs, err := filepath.Abs(final)
		if err != nil {
			return fmt.Errorf("start removal: %w", err)
		}
		cmd := exec.Command(exe, append([]string{"remove-old", abs}, paths...)...)
		cmd.Env = append(os.Environ(), "BAKE_TEST_MAIN=1") // lets a test binary act as bake
		cmd.SysProcAttr = detached()
		// No stdin, stdout or stderr (they are /dev/null): a caller reading
		// the build's output must not wait for the removal too.
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start removal: %w", err)
		}
		go cmd.Wait() // reaps it if this process lives on (tests, bake bench)
		return nil
	}
}
