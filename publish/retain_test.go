package publish

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// TestRetainFingerprinted: a publish whose build no longer has a
// fingerprinted file (a stylesheet whose content changed) leaves it in
// the target, where pages cached before the publish still link it, and
// lists it at RetainedKey; bake prune removes it once no kept release
// has it, and keeps it while one does. A page or a file without a hash in
// its name is deleted as before, and so is a fingerprinted file with
// DeleteFingerprinted.
func TestRetainFingerprinted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	store := &Store{Dir: t.TempDir()}
	out := filepath.Join(t.TempDir(), "_site")
	version := func(css, note string) site {
		return site{
			"/":                                 `<link rel="stylesheet" href="/css/` + css + `"><p>` + note + `</p>`,
			"/css/" + css:                       "body{color:" + note + "}",
			"/report-" + note + "abcdef12.html": "<p>a page with a hash-like name</p>",
			"/plain-" + note + ".css":           "p{}",
		}
	}
	publishSite := func(s site) *Plan {
		t.Helper()
		buildSite(t, out, s)
		plan, resume, err := Prepare(ctx, bucket, out, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Store: store, Resume: resume}); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	exists := func(key string) bool {
		ok, err := bucket.Exists(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	listed := func() []string {
		t.Helper()
		list, err := readRetained(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range list {
			keys = append(keys, r.Key)
		}
		return keys
	}
	keys := func(cs []Change) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Key)
		}
		slices.Sort(out)
		return out
	}

	publishSite(version("app.aaaaaaaa.css", "red"))
	plan := publishSite(version("app.bbbbbbbb.css", "blue"))
	if diff := cmp.Diff([]string{"css/app.aaaaaaaa.css"}, keys(plan.Retained)); diff != "" {
		t.Errorf("retained (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"plain-red.css", "report-redabcdef12.html"}, keys(plan.Deletes)); diff != "" {
		t.Errorf("deletes (-want +got):\n%s", diff)
	}
	if !exists("css/app.aaaaaaaa.css") || !exists("css/app.bbbbbbbb.css") {
		t.Fatal("the old or the new stylesheet is missing from the target")
	}
	if exists("plain-red.css") || exists("report-redabcdef12.html") {
		t.Fatal("a file without a hash in its name, or a page, was kept")
	}
	publishSite(version("app.cccccccc.css", "green"))
	if diff := cmp.Diff([]string{"css/app.aaaaaaaa.css", "css/app.bbbbbbbb.css"}, listed()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", RetainedKey, diff)
	}
	// Publishing the same build again changes nothing.
	if plan := publishSite(version("app.cccccccc.css", "green")); !plan.Empty() || len(plan.Retained) != 0 {
		t.Errorf("the same build again: %s", plan.Summary())
	}

	// Three releases kept (green twice, blue): blue still links
	// app.bbbbbbbb.css.
	res, err := Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{Keep: 3, PartGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Retained != 1 || res.KeptRetained != 1 {
		t.Errorf("prune, 3 releases kept: %d retained files removed, %d kept; want 1 and 1", res.Retained, res.KeptRetained)
	}
	if exists("css/app.aaaaaaaa.css") || !exists("css/app.bbbbbbbb.css") || !exists("css/app.cccccccc.css") {
		t.Error("after prune keeping 3 releases: want app.aaaaaaaa.css gone, bbbbbbbb and cccccccc there")
	}
	if diff := cmp.Diff([]string{"css/app.bbbbbbbb.css"}, listed()); diff != "" {
		t.Errorf("%s after prune (-want +got):\n%s", RetainedKey, diff)
	}
	// Only the live release kept: the last old stylesheet goes.
	if _, err := Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{Keep: 1, PartGrace: -1}); err != nil {
		t.Fatal(err)
	}
	if exists("css/app.bbbbbbbb.css") || !exists("css/app.cccccccc.css") || len(listed()) != 0 {
		t.Errorf("after prune keeping 1 release: bbbbbbbb there %v, cccccccc there %v, list %v", exists("css/app.bbbbbbbb.css"), exists("css/app.cccccccc.css"), listed())
	}

	// DeleteFingerprinted: deleted at once.
	buildSite(t, out, version("app.dddddddd.css", "black"))
	plan, _, err = Prepare(ctx, bucket, out, DiffOptions{DeleteFingerprinted: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Store: store}); err != nil {
		t.Fatal(err)
	}
	if exists("css/app.cccccccc.css") || len(plan.Retained) != 0 {
		t.Errorf("with DeleteFingerprinted the old stylesheet stayed (retained %v)", keys(plan.Retained))
	}
}

// TestRetainable: only files that are not pages and carry a content hash
// in their name stay.
func TestRetainable(t *testing.T) {
	for _, c := range []struct {
		key, typ string
		want     bool
	}{
		{"css/app.3f2a1c9b.css", "text/css; charset=utf-8", true},
		{"js/app-3f2a1c9b.js", "text/javascript; charset=utf-8", true},
		{"img/logo.3f2a1c9b.png", "image/png", true},
		{"img/logo.3f2a1c9b.png", "", true},
		{"css/app.css", "text/css; charset=utf-8", false},
		{"report-20261207.html", "text/html; charset=utf-8", false},
		{"report-20261207.html", "", false}, // listed without metadata
		{"archive/2026.3f2a1c9b.htm", "", false},
	} {
		if got := retainable(c.key, bake.Entry{Type: c.typ}); got != c.want {
			t.Errorf("retainable(%q, %q) = %v, want %v", c.key, c.typ, got, c.want)
		}
	}
}
