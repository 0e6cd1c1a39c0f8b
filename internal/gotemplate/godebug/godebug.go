// Package godebug stands in for the standard library's internal/godebug in
// bake's copy of html/template: a setting reads its value from the GODEBUG
// environment variable each time it is asked (the standard library's
// follows os.Setenv too), and counts nothing.
package godebug

import (
	"os"
	"strings"
)

// Setting is one GODEBUG setting.
type Setting struct {
	name string
}

// New returns the setting name.
func New(name string) *Setting { return &Setting{name: name} }

// Name returns the setting's name.
func (s *Setting) Name() string { return s.name }

// Value returns the setting's value, "" when GODEBUG does not set it.
func (s *Setting) Value() string {
	value := ""
	// The last name=value pair wins, as in the runtime.
	for kv := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == s.name {
			value = v
		}
	}
	return value
}

// IncNonDefault does nothing: the standard library counts uses of a
// non-default setting for runtime/metrics.
func (s *Setting) IncNonDefault() {}
