package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/bakehq/bake/sqlsite"
)

// assetJSON is one static file of the build report: what the asset
// pipeline made of it (see docs/assets.md).
type assetJSON struct {
	Name        string `json:"name"` // logical name: css/app.css
	Path        string `json:"path"` // served at: /css/app.3f2a1c9b.css
	Kind        string `json:"kind"` // copy, minify, bundle
	SourceBytes int64  `json:"source_bytes"`
	Bytes       int64  `json:"bytes"`
	Gzip        int64  `json:"gzip_bytes"`   // 0 for types not compressed
	Brotli      int64  `json:"brotli_bytes"` // 0 for types not compressed
}

// assetReport lists the assets of the site's last pass.
func assetReport(site *sqlsite.Site) []assetJSON {
	list := []assetJSON{}
	set := site.Assets()
	for _, n := range set.Names() {
		a, _ := set.Lookup(n)
		list = append(list, assetJSON{Name: a.Name, Path: a.Path, Kind: a.Kind, SourceBytes: a.SourceBytes, Bytes: a.Bytes, Gzip: a.Gzip, Brotli: a.Brotli})
	}
	return list
}

// printAssets prints a table of the assets that were processed (bundled or
// minified), and one line for the files copied as they are.
func printAssets(w io.Writer, assets []assetJSON) {
	var copied, copiedBytes int64
	var rows []assetJSON
	for _, a := range assets {
		if a.Kind == "copy" {
			copied++
			copiedBytes += a.Bytes
			continue
		}
		rows = append(rows, a)
	}
	if len(rows) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "asset\tpath\tsource\tbytes\tgzip\tbrotli\t")
		var sum assetJSON
		for _, a := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", a.Name, a.Path, humanBytes(a.SourceBytes), humanBytes(a.Bytes), sizeOrDash(a.Gzip), sizeOrDash(a.Brotli))
			sum.SourceBytes += a.SourceBytes
			sum.Bytes += a.Bytes
			sum.Gzip += a.Gzip
			sum.Brotli += a.Brotli
		}
		if len(rows) > 1 {
			fmt.Fprintf(tw, "%d assets\t\t%s\t%s\t%s\t%s\t\n", len(rows), humanBytes(sum.SourceBytes), humanBytes(sum.Bytes), sizeOrDash(sum.Gzip), sizeOrDash(sum.Brotli))
		}
		tw.Flush()
	}
	if copied > 0 {
		fmt.Fprintf(w, "static files copied as they are: %d (%s)\n", copied, humanBytes(copiedBytes))
	}
}

func sizeOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return humanBytes(n)
}
