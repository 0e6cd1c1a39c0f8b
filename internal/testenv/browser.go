package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Programs that check what bake makes, as its users' clients and
// validators would: scripts/test installs them as root (Debian's chromium,
// default-jre-headless and libxml2-utils); a test that needs one skips when
// it is missing, or fails when InCI.
const (
	// ChromiumEnv names the variable holding the Chromium (or Chrome)
	// binary to use; if unset, chromium on PATH, then /usr/bin/chromium.
	ChromiumEnv = "BAKE_TEST_CHROMIUM"
)

// Chromium returns the path of a Chromium binary, for tests that drive a
// real browser. When there is none it skips t, or fails t when InCI.
func Chromium(t testing.TB) string {
	t.Helper()
	return program(t, "Chromium", "chromium", os.Getenv(ChromiumEnv), "chromium", "/usr/bin/chromium")
}

// Java returns the path of a Java runtime (for the Nu HTML checker). When
// there is none it skips t, or fails t when InCI.
func Java(t testing.TB) string {
	t.Helper()
	return program(t, "Java runtime", "default-jre-headless", "java", "/usr/bin/java")
}

// Xmllint returns the path of xmllint (schema validation of XML). When
// there is none it skips t, or fails t when InCI.
func Xmllint(t testing.TB) string {
	t.Helper()
	return program(t, "xmllint", "libxml2-utils", "xmllint", "/usr/bin/xmllint")
}

// program returns the first of candidates found on PATH (or as a path),
// or skips or fails t naming what and Debian's package pkg.
func program(t testing.TB, what, pkg string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	missing(t, what, pkg)
	return ""
}
