package publish

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
)

func entries(es ...bake.Entry) iter.Seq2[bake.Entry, error] {
	return func(yield func(bake.Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

const html = "text/html; charset=utf-8"

func page(path, sha string) bake.Entry {
	return bake.Entry{Path: path, SHA256: sha, Size: 10, Type: html}
}
func asset(path, sha, ct string) bake.Entry {
	return bake.Entry{Path: path, SHA256: sha, Size: 5, Type: ct}
}

type planKeys struct {
	Assets, Pages, Deletes []string
	Reasons                map[string]string
	Unchanged              int
}

func keysOf(p *Plan) planKeys {
	k := planKeys{Reasons: map[string]string{}, Unchanged: p.Unchanged}
	for c, err := range p.Assets.All() {
		if err != nil {
			panic(err)
		}
		k.Assets = append(k.Assets, c.Key)
		k.Reasons[c.Key] = c.Reason
	}
	for c, err := range p.Pages.All() {
		if err != nil {
			panic(err)
		}
		k.Pages = append(k.Pages, c.Key)
		k.Reasons[c.Key] = c.Reason
	}
	for _, c := range p.Deletes {
		k.Deletes = append(k.Deletes, c.Key)
	}
	return k
}

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		local, remote []bake.Entry
		noRemote      bool
		want          planKeys
	}{
		{
			name:     "first publish: everything, assets before pages",
			local:    []bake.Entry{page("/", "a"), asset("/app.css", "b", "text/css"), page("/x/", "c")},
			noRemote: true,
			want: planKeys{Assets: []string{"app.css"}, Pages: []string{"index.html", "x/index.html"},
				Reasons: map[string]string{"app.css": ReasonNew, "index.html": ReasonNew, "x/index.html": ReasonNew}},
		},
		{
			name:   "no change: nothing",
			local:  []bake.Entry{page("/", "a"), asset("/app.css", "b", "text/css")},
			remote: []bake.Entry{page("/", "a"), asset("/app.css", "b", "text/css")},
			want:   planKeys{Reasons: map[string]string{}, Unchanged: 2},
		},
		{
			name:   "one page changed, one added, one gone, a type fixed",
			local:  []bake.Entry{page("/", "a2"), asset("/feed.xml", "f", "application/rss+xml"), page("/new/", "n"), page("/same/", "s")},
			remote: []bake.Entry{page("/", "a"), asset("/feed.xml", "f", "text/xml"), page("/old/", "o"), page("/same/", "s")},
			want: planKeys{Assets: []string{"feed.xml"}, Pages: []string{"index.html", "new/index.html"}, Deletes: []string{"old/index.html"},
				Reasons: map[string]string{"feed.xml": ReasonType, "index.html": ReasonChanged, "new/index.html": ReasonNew}, Unchanged: 1},
		},
		{
			name:   "redirect target changed",
			local:  []bake.Entry{{Path: "/old/", SHA256: "r", Type: html, Redirect: "/b/"}},
			remote: []bake.Entry{{Path: "/old/", SHA256: "r", Type: html, Redirect: "/a/"}},
			want:   planKeys{Pages: []string{"old/index.html"}, Reasons: map[string]string{"old/index.html": ReasonType}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := entries(tt.remote...)
			if tt.noRemote {
				remote = nil
			}
			plan, err := Diff(entries(tt.local...), remote, DiffOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, keysOf(plan)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffDeleteLimits(t *testing.T) {
	t.Parallel()
	var remote []bake.Entry
	for i := range 300 {
		remote = append(remote, page("/p/"+string(rune('a'+i/26))+string(rune('a'+i%26))+"/", "x"))
	}
	local := remote[:10]
	tests := []struct {
		name string
		opts DiffOptions
		err  bool
	}{
		{"default 256", DiffOptions{}, true},
		{"raised", DiffOptions{MaxDeletes: 300}, false},
		{"unlimited", DiffOptions{MaxDeletes: -1}, false},
		{"percentage", DiffOptions{MaxDeletes: -1, MaxDeletePercent: 50}, true},
		{"forced", DiffOptions{Force: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Diff(entries(local...), entries(remote...), tt.opts)
			if tt.err != errors.Is(err, ErrTooManyDeletes) {
				t.Fatalf("err = %v", err)
			}
			if len(plan.Deletes) != 290 {
				t.Errorf("%d deletes", len(plan.Deletes))
			}
		})
	}
}

func TestDiffFinishesPendingDeletes(t *testing.T) {
	t.Parallel()
	local := []bake.Entry{page("/", "a"), page("/back/", "b")}
	plan, err := Diff(entries(local...), entries(local...), DiffOptions{Pending: []string{"gone/index.html", "back/index.html"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(plan).Deletes; len(got) != 1 || got[0] != "gone/index.html" {
		t.Errorf("deletes = %v, want only gone/index.html (back/ is in the build again)", got)
	}
}

// TestDiffManifestsMatchesDiff checks the fast path over raw manifest lines
// against Diff over decoded entries, on the table of TestDiff.
func TestDiffManifestsMatchesDiff(t *testing.T) {
	t.Parallel()
	write := func(es []bake.Entry) *bytes.Buffer {
		var buf bytes.Buffer
		m := &bake.Manifest{Entries: slices.Clone(es)}
		m.Sort()
		if err := bake.WriteManifest(&buf, m); err != nil {
			t.Fatal(err)
		}
		return &buf
	}
	dep := []bake.Dep{"tmpl:a.html"}
	local := []bake.Entry{page("/", "a2"), asset("/feed.xml", "f", "application/rss+xml"), page("/new/", "n"), page("/same/", "s"),
		{Path: "/deps-only/", SHA256: "d", Size: 1, Type: html, Deps: dep}}
	remote := []bake.Entry{page("/", "a"), asset("/feed.xml", "f", "text/xml"), page("/old/", "o"), page("/same/", "s"),
		{Path: "/deps-only/", SHA256: "d", Size: 1, Type: html}}
	want, err := Diff(entries(local...), entries(remote...), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DiffManifests(write(local), write(remote), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keysOf(want), keysOf(got)); diff != "" {
		t.Errorf("DiffManifests differs from Diff (-Diff +DiffManifests):\n%s", diff)
	}
	if got.Unchanged != 2 {
		t.Errorf("unchanged = %d, want 2 (same line, and deps-only change)", got.Unchanged)
	}
	first, err := DiffManifests(write(local), nil, DiffOptions{})
	if err != nil || first.Uploads() != len(local) {
		t.Errorf("no remote: %v %v", first.Summary(), err)
	}
	var many []bake.Entry
	for i := range 100 {
		many = append(many, page(fmt.Sprintf("/p/%03d/", i), "x"))
	}
	if _, err := DiffManifests(write(many[:60]), write(many), DiffOptions{MaxDeletes: -1, MaxDeletePercent: 50}); err != nil {
		t.Errorf("40 deletes of 100 with a 50%% limit (so counted against all remote entries, not the differing 40): %v", err)
	}
	if _, err := DiffManifests(write(many[:40]), write(many), DiffOptions{MaxDeletes: -1, MaxDeletePercent: 50}); !errors.Is(err, ErrTooManyDeletes) {
		t.Errorf("60 deletes of 100 with a 50%% limit: %v", err)
	}
}

// TestDiffHeaders checks that an unchanged object whose headers follow
// other rules is uploaded again, by both Diff and DiffManifests.
func TestDiffHeaders(t *testing.T) {
	t.Parallel()
	es := []bake.Entry{page("/", "a"), asset("/site.css", "c", "text/css")}
	var buf bytes.Buffer
	if err := bake.WriteManifest(&buf, &bake.Manifest{Entries: es}); err != nil {
		t.Fatal(err)
	}
	lines := buf.String()
	opts := DiffOptions{Headers: func(key string, e bake.Entry) bool { return strings.HasSuffix(key, ".css") }}
	fromEntries, err := Diff(entries(es...), entries(es...), opts)
	if err != nil {
		t.Fatal(err)
	}
	fromLines, err := DiffManifests(strings.NewReader(lines), strings.NewReader(lines), opts)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*Plan{"Diff": fromEntries, "DiffManifests": fromLines} {
		if k := keysOf(p); !cmp.Equal(k.Assets, []string{"site.css"}) || k.Reasons["site.css"] != ReasonHeaders || len(k.Pages) != 0 || p.Unchanged != 1 {
			t.Errorf("%s: %s, %+v; want site.css uploaded for its headers, / unchanged", name, p.Summary(), k)
		}
	}
	same, err := DiffManifests(strings.NewReader(lines), strings.NewReader(lines), DiffOptions{})
	if err != nil || !same.Empty() {
		t.Errorf("without Headers: %s, %v; want nothing to do", same.Summary(), err)
	}
}
