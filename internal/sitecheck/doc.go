// Package sitecheck holds no code, only tests: they build bake's example
// site (examples/newsroom) and check its output with the real clients and
// validators its readers and users meet: a headless Chromium loading it
// through bake serve, the W3C Nu HTML checker on every page, and the
// sitemap protocol's XML schema on its sitemap. Each needs a program
// (Debian's chromium, a Java runtime with vnu-jar from the npm registry,
// xmllint) and skips without it, or fails under CI=true; scripts/test
// installs them as root.
package sitecheck
