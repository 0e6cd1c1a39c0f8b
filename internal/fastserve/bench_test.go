package fastserve

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHit is what bake adds to fasthttp's own work for a hit: the
// request checks, Lookup, the response header, and its serialization, on
// every CPU at once (a page shared by all, as under wrk).
func BenchmarkHit(b *testing.B) {
	for _, tc := range []struct{ name, ae string }{
		{"plain", ""},
		{"gzip", "gzip"},
		{"br", "gzip, deflate, br"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := buildFolder(b)
			mux, fs, _ := serveMux(b, dir, false)
			s, err := New(Options{Handler: mux, Lookup: fs.Lookup})
			if err != nil {
				b.Fatal(err)
			}
			raw := "GET / HTTP/1.1\r\nHost: bench\r\n"
			if tc.ae != "" {
				raw += "Accept-Encoding: " + tc.ae + "\r\n"
			}
			raw += "\r\n"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var req fasthttp.Request
				if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
					b.Error(err)
					return
				}
				var ctx fasthttp.RequestCtx
				ctx.Init(&req, nil, nil)
				w := bufio.NewWriterSize(io.Discard, 64<<10)
				for pb.Next() {
					ctx.Response.Reset()
					if !s.hit(&ctx) {
						b.Error("not a hit")
						return
					}
					if err := ctx.Response.Write(w); err != nil {
						b.Error(err)
						return
					}
					w.Reset(io.Discard)
				}
			})
		})
	}
}
