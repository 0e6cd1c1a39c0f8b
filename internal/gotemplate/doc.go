// Package gotemplate holds bake's copy of Go's text/template and
// html/template (and internal/fmtsort, which text/template needs), in
// texttemplate and htmltemplate. Sites' templates run on this copy, not
// on the standard library's, for speed alone: its escaping, parsing and
// semantics are the standard library's, line for line.
//
// # Why a copy
//
// Every call a template makes (html/template adds an escaper call to
// every action) goes through reflect.Value.Call in text/template, which
// cannot be changed from outside. At 100,000 pages that was a tenth of a
// full build. The copy calls functions of the most common types directly
// (texttemplate/bake_direct.go). Hugo keeps such a copy for its own
// reasons (tpl/internal/go_templates).
//
// # Rules that keep it the standard library's
//
//   - Files named bake_*.go are bake's. Every other Go file is the upstream
//     file of the Go release in UPSTREAM, with its import lines pointing
//     into this folder, plus lines marked with a "// bake:" comment. No
//     upstream line is changed or removed; a change is made by adding
//     marked lines, which may not open or close a comment or hold a
//     directive.
//   - TestForkIsUpstream checks those rules, as text, against the Go the
//     tests run on, and fails when that Go is another release: run
//     scripts/sync-gotemplate, which copies the new release and re-applies
//     bake.patch, so that the copy gets every fix html/template gets
//     upstream. Building bake with a newer Go does not update the copy: the
//     tests (and CI) are what notice.
//   - What the marked lines do is checked by behaviour: upstream's own
//     tests are copied and run on the copy (but for the few that need the
//     toolchain's internal packages), and bake's tests compare the direct
//     calls with reflect's and with the standard library's output.
//   - internal/godebug is replaced by a small stand-in (godebug), which
//     reads the GODEBUG environment variable (not the defaults a binary's
//     go.mod or //go:debug lines would set; bake sets none).
//
// Go's license, which covers the copied files, is in LICENSE.
package gotemplate
