package cli

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/publish"
	"github.com/google/go-cmp/cmp"
)

// TestFirstUploads checks the uploads a dry run shows: the first in the
// order they go, assets then pages, each by key, whatever the order of
// the plan.
func TestFirstUploads(t *testing.T) {
	var assets, pages []publish.Change
	for i := range 300 {
		pages = append(pages, publish.Change{Key: fmt.Sprintf("p/%03d/index.html", i), Entry: bake.Entry{Type: "text/html; charset=utf-8"}})
	}
	for i := range 3 {
		assets = append(assets, publish.Change{Key: fmt.Sprintf("css/%d.css", i), Entry: bake.Entry{Type: "text/css"}})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := func(cs []publish.Change) []publish.Change {
		cs = slices.Clone(cs)
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		return cs
	}
	plan := &publish.Plan{Assets: publish.ListOf(shuffled(assets)...), Pages: publish.ListOf(shuffled(pages)...)}
	var got []string
	for _, c := range firstUploads(plan, 10) {
		got = append(got, c.Key)
	}
	want := []string{"css/0.css", "css/1.css", "css/2.css"}
	for _, c := range pages[:7] {
		want = append(want, c.Key)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first uploads (-want +got):\n%s", diff)
	}
}
