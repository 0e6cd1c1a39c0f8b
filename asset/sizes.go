package asset

import (
	"bytes"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// brotliBig is the size above which brotli runs at quality 4 rather
// than 5.
const brotliBig = 256 << 10

// compressedSizes returns the size of data gzipped and brotli-compressed
// as bake's precompression (internal/precompress) makes the .gz and .br
// files that are served: gzip level 9, brotli quality 5 (4 above 256 KB).
// It returns zeros when the type is not worth compressing (images, fonts).
func compressedSizes(typ string, data []byte) (gz, br int64) {
	if !compressible(typ) {
		return 0, 0
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	gz = int64(b.Len())
	b.Reset()
	q := 5
	if len(data) > brotliBig {
		q = 4
	}
	bw := brotli.NewWriterLevel(&b, q)
	bw.Write(data)
	bw.Close()
	return gz, int64(b.Len())
}

// compressible reports whether a media type is text worth compressing.
func compressible(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.TrimSpace(ct)
	return strings.HasPrefix(ct, "text/") || strings.HasSuffix(ct, "+xml") || strings.HasSuffix(ct, "/xml") ||
		strings.HasSuffix(ct, "json") || ct == "application/javascript" || ct == "text/javascript"
}
