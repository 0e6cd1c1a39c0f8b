// Command httpfloor is the floor of scripts/bench-http: the least a Go
// server can do to answer a page. It reads one file and its .gz and .br
// siblings into memory at start and answers every request with them, with
// the headers bake serve gives (Content-Type, Cache-Control, Vary, ETag,
// Last-Modified, Accept-Ranges, Content-Length and Content-Encoding), from
// header values made once: no file system, no manifest, no preconditions,
// nothing allocated by the handler. What a server answers above this is
// the cost of its own work; what nginx answers above it is the HTTP
// server's. With -fasthttp it is a fasthttp server configured as bake
// serve's (internal/fastserve), else a net/http one.
//
//	go run ./scripts/httpfloor -addr 127.0.0.1:18084 -file _site/index.html [-fasthttp]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// form is one coding of the page, with its header values.
type form struct {
	body   []byte
	clen   []string
	etag   []string
	coding []string // nil for identity
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18084", "address to listen on")
	file := flag.String("file", "", "the page to send (its .gz and .br siblings too, where present)")
	fast := flag.Bool("fasthttp", false, "serve with fasthttp instead of net/http")
	flag.Parse()
	if *file == "" {
		log.Fatal("httpfloor: -file is required")
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(*file)
	if err != nil {
		log.Fatal(err)
	}
	ctype := mime.TypeByExtension(filepath.Ext(*file))
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	tag := fmt.Sprintf("%x-%x", fi.Size(), fi.ModTime().UnixNano())
	mk := func(b []byte, suffix string, coding string) *form {
		f := &form{body: b, clen: []string{strconv.Itoa(len(b))}, etag: []string{`"` + tag + suffix + `"`}}
		if coding != "" {
			f.coding = []string{coding}
		}
		return f
	}
	plain := mk(body, "", "")
	var br, gz *form
	if b, err := os.ReadFile(*file + ".br"); err == nil {
		br = mk(b, "-br", "br")
	}
	if b, err := os.ReadFile(*file + ".gz"); err == nil {
		gz = mk(b, "-gz", "gzip")
	}
	ct := []string{ctype}
	noCache := []string{"no-cache"}
	vary := []string{"Accept-Encoding"}
	ranges := []string{"bytes"}
	lmod := []string{fi.ModTime().UTC().Format(http.TimeFormat)}

	if *fast {
		serveFast(*addr, ctype, fi.ModTime(), plain, gz, br)
		return
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := plain
		if ae := r.Header["Accept-Encoding"]; len(ae) > 0 {
			// Enough for a benchmark: no q-values.
			switch {
			case br != nil && strings.Contains(ae[0], "br"):
				f = br
			case gz != nil && strings.Contains(ae[0], "gzip"):
				f = gz
			}
		}
		hd := w.Header()
		hd["Content-Type"] = ct
		hd["Cache-Control"] = noCache
		hd["Vary"] = vary
		hd["Etag"] = f.etag
		hd["Last-Modified"] = lmod
		hd["Accept-Ranges"] = ranges
		hd["Content-Length"] = f.clen
		if f.coding != nil {
			hd["Content-Encoding"] = f.coding
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(f.body)
		}
	})
	// As bake serve and bake proxy run their servers.
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// serveFast is the floor with fasthttp, as internal/fastserve sets it up.
func serveFast(addr, ctype string, mtime time.Time, plain, gz, br *form) {
	lmod := mtime.UTC().Format(http.TimeFormat)
	h := func(ctx *fasthttp.RequestCtx) {
		f := plain
		if ae := ctx.Request.Header.Peek("Accept-Encoding"); len(ae) > 0 {
			switch {
			case br != nil && bytes.Contains(ae, []byte("br")):
				f = br
			case gz != nil && bytes.Contains(ae, []byte("gzip")):
				f = gz
			}
		}
		r := &ctx.Response
		r.Header.SetContentType(ctype)
		r.Header.Set("Cache-Control", "no-cache")
		r.Header.Set("Vary", "Accept-Encoding")
		r.Header.Set("Etag", f.etag[0])
		r.Header.Set("Last-Modified", lmod)
		r.Header.Set("Accept-Ranges", "bytes")
		if f.coding != nil {
			r.Header.Set("Content-Encoding", f.coding[0])
		}
		r.SetBodyRaw(f.body)
	}
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true, NoDefaultContentType: true,
		ReadBufferSize: 32 << 10, ReadTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe(addr))
}
