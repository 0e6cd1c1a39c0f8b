package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// assetsRun is the median figures of full builds of one side of bench
// --assets.
type assetsRun struct {
	Seconds        float64   `json:"seconds"` // median wall time of bake build --full
	PagesPerSecond float64   `json:"pages_per_second"`
	Pages          int       `json:"pages"`
	Bytes          int64     `json:"bytes"` // written by the median run
	PeakRSSBytes   int64     `json:"peak_rss_bytes"`
	Runs           []float64 `json:"runs"` // seconds of each run, in order
}

// benchAssetsOff is what bench --assets appends to bake.toml for the "off"
// side: static files copied at their own names, no minification.
const benchAssetsOff = "\n# bake bench --assets: the \"off\" side.\n[assets]\nfingerprint = false\nminify = false\ncrush = false\n"

// benchAssets times full builds with the asset pipeline's fingerprints
// and minification and HTML minification on (the [assets] defaults and
// bake build --production) against off ([assets] fingerprint = false,
// minify = false, crush = false; no HTML minification), --runs times
// each, alternating (off, on, off, on, …) so that both sides see the
// same machine. bake.toml is put back as it was. Asset work is cached
// by content between builds, as in real use: after the first "on" build
// the "on" side pays for HTML minification and fingerprinted URLs, not
// for minifying the stylesheet again.
func benchAssets(ctx context.Context, dir string, f benchFlags) (map[string]assetsRun, error) {
	toml := filepath.Join(dir, "bake.toml")
	orig, err := os.ReadFile(toml)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.WriteFile(toml, orig, 0o644)
	runs := map[string][]benchRun{}
	for range f.runs {
		for _, side := range []string{"off", "on"} {
			text, args := string(orig)+benchAssetsOff, []string(nil)
			if side == "on" {
				text, args = string(orig), []string{"--production"}
			}
			if err := os.WriteFile(toml, []byte(text), 0o644); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			r, err := benchBuild(ctx, dir, args...)
			if err != nil {
				return nil, fmt.Errorf("bench --assets %s: %w", side, err)
			}
			runs[side] = append(runs[side], r)
		}
	}
	res := map[string]assetsRun{}
	for side, rs := range runs {
		var a assetsRun
		for _, r := range rs {
			a.Runs = append(a.Runs, r.Seconds)
			a.PeakRSSBytes = max(a.PeakRSSBytes, r.PeakRSSBytes)
		}
		sorted := slices.Clone(rs)
		slices.SortFunc(sorted, func(a, b benchRun) int { return cmpFloat(a.Seconds, b.Seconds) })
		med := sorted[len(sorted)/2]
		a.Seconds, a.PagesPerSecond, a.Pages, a.Bytes = med.Seconds, med.PagesPerSecond, med.Pages, med.Bytes
		res[side] = a
	}
	return res, nil
}
