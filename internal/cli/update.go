package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
)

// updateResult is the JSON report of an incremental bake build.
type updateResult struct {
	*build.UpdateReport
	Incremental bool             `json:"incremental"`
	Changes     []string         `json:"changes"`
	Output      string           `json:"output"`
	Queries     map[string]int64 `json:"queries"`
	Problems    []problemJSON    `json:"problems"`
	PeakRSS     int64            `json:"peak_rss_bytes"`
}

// printUpdate prints the report of an incremental build of changes (err
// is the build's) and returns the command's error.
func printUpdate(g *globals, f buildFlags, site *openedSite, out string, rep *build.UpdateReport, changes []bake.Change, err error) error {
	res := &updateResult{UpdateReport: rep, Incremental: true, Output: out, Changes: []string{}, Queries: map[string]int64{}, Problems: []problemJSON{}}
	for _, c := range bake.SortChanges(slices.Clone(changes)) {
		res.Changes = append(res.Changes, c.String())
	}
	res.PeakRSS = peakRSS()
	for name, st := range site.site.Stats() {
		if n := st.Queries.Load(); n > 0 {
			res.Queries[name] = n
		}
	}
	for _, p := range rep.Problems {
		res.Problems = append(res.Problems, problemJSON{Route: p.Route, Path: p.Path, Key: p.Key, File: p.File, Line: p.Line, Error: errText(p)})
	}
	if f.json {
		enc := json.NewEncoder(g.stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printProblems(g.stdio.Err, rep.Problems)
		if !f.quiet {
			skipped := ""
			if rep.Skipped > 0 {
				skipped = fmt.Sprintf(" (%d more pages checked: same inputs, not rendered)", rep.Skipped)
			}
			fmt.Fprintf(g.stdio.Out, "updated %s: %d rendered, %d written (%s), %d unchanged, %d removed, from %s, in %s%s\n",
				res.Output, rep.Rendered, rep.Written, humanBytes(rep.Bytes), rep.Unchanged, rep.Removed, plural(len(res.Changes), "change"), rep.Duration.Round(time.Millisecond), skipped)
			for _, e := range rep.Explain {
				fmt.Fprintf(g.stdio.Out, "  %-9s %s  ← %s\n", e.Action, e.Path, e.Reason)
			}
		}
	}
	if err != nil {
		if !f.json {
			fmt.Fprintf(g.stdio.Err, "bake: %v\n", err)
		}
		return exitError{1}
	}
	return nil
}
