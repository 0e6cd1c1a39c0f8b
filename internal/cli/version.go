package cli

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version says which bake this is, as `go version -m` would: the module's
// version ("(devel)" for a build from a checkout), the VCS commit it was
// built from, with "+modified" when the work tree had changes, and the Go
// release.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information) " + runtime.Version()
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{v}
	var rev, modified, when string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		case "vcs.time":
			when = s.Value
		}
	}
	if rev != "" {
		c := "commit " + rev[:min(len(rev), 12)]
		if modified == "true" {
			c += "+modified"
		}
		if when != "" {
			c += " " + when
		}
		parts = append(parts, c)
	}
	parts = append(parts, runtime.Version())
	return strings.Join(parts, " ")
}
