package asset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/tdewolff/minify/v2"
	mcss "github.com/tdewolff/minify/v2/css"
	mjson "github.com/tdewolff/minify/v2/json"
	msvg "github.com/tdewolff/minify/v2/svg"
	mxml "github.com/tdewolff/minify/v2/xml"
)

// processor returns what is done to a file of this name: "css" (esbuild,
// url() rewritten, imports inlined), "js" (esbuild minify), "svg", "json",
// "xml" (tdewolff/minify), or "copy".
func (p *Pipeline) processor(name string) string {
	switch ext := strings.ToLower(path.Ext(name)); {
	case ext == ".css" && (p.cfg.Minify || p.cfg.Fingerprint):
		return "css"
	case imageKind(name) != "" && (p.cfg.Crush || len(p.cfg.Images.Widths) > 0):
		return "image"
	case !p.cfg.Minify:
		return "copy"
	case ext == ".js" || ext == ".mjs":
		return "js"
	case ext == ".svg":
		return "svg"
	case ext == ".json" || ext == ".webmanifest":
		return "json"
	case ext == ".xml":
		return "xml"
	}
	return "copy"
}

// key hashes the parts of a cache key.
func key(parts ...string) string {
	h := sha256.New()
	h.Write([]byte(cacheVersion))
	for _, s := range parts {
		fmt.Fprintf(h, "\x00%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// file makes the asset of one static file.
func (r *run) file(s *source) {
	a := &Asset{Name: s.name, SourceBytes: s.size, Type: contentType(s.name)}
	var err error
	switch kind := r.p.processor(s.name); kind {
	case "css":
		err = r.esbuildAsset(a, Bundle{Name: s.name, Entry: s.name}, false)
	case "copy":
		err = r.copyAsset(a, s)
	case "image":
		err = r.imageAsset(a, s, imageKind(s.name))
	default:
		err = r.minifyAsset(a, s, kind)
	}
	if err != nil {
		r.fail(s.name, err)
		return
	}
	r.finish(a)
}

// bundle makes the asset of a bundle.
func (r *run) bundle(b Bundle) {
	var size int64
	for _, f := range append([]string{b.Entry}, b.Files...) {
		if s, ok := r.srcs[f]; ok {
			size += s.size
		} else if f != "" {
			r.fail(b.Name, &bake.Error{File: b.File, Line: b.Line, Err: fmt.Errorf("bundle %q: %s: no such file in the static folders", b.Name, f)})
			return
		}
	}
	a := &Asset{Name: b.Name, SourceBytes: size, Type: contentType(b.Name)}
	if err := r.esbuildAsset(a, b, r.p.cfg.SourceMaps); err != nil {
		r.fail(b.Name, err)
		return
	}
	a.Kind = "bundle"
	r.finish(a)
}

// copyAsset makes an asset of a file as it is.
func (r *run) copyAsset(a *Asset, s *source) error {
	a.Kind, a.Hash, a.Source, a.Bytes = "copy", s.sha, s.file, s.size
	if !compressible(a.Type) {
		return nil
	}
	k := key("sizes", s.sha)
	res, ok := r.p.cache.result(k)
	if !ok {
		data, err := os.ReadFile(s.file)
		if err != nil {
			return fmt.Errorf("read static file: %w", err)
		}
		res.Gzip, res.Brotli = compressedSizes(a.Type, data)
		r.p.cache.putResult(k, res)
	}
	a.Gzip, a.Brotli = res.Gzip, res.Brotli
	return nil
}

// minifiers are tdewolff's, by processor.
var minifiers = func() *minify.M {
	m := minify.New()
	m.AddFunc("text/css", mcss.Minify) // in SVG <style>
	m.Add("svg", &msvg.Minifier{})
	m.AddFunc("json", mjson.Minify)
	m.Add("xml", &mxml.Minifier{KeepWhitespace: false})
	return m
}()

// minifyAsset minifies a single SVG, JSON or XML file, or a script.
func (r *run) minifyAsset(a *Asset, s *source, kind string) error {
	opts := kind
	lowered := kind == "js" && r.p.engine.key != ""
	if kind == "js" {
		// "lowered": results made before lowered scripts were kept even
		// when longer are made again.
		opts += " " + r.p.engine.key + " lowered"
	}
	k := key("minify", opts, s.sha)
	res, ok := r.p.cache.result(k)
	if !ok {
		data, err := os.ReadFile(s.file)
		if err != nil {
			return fmt.Errorf("read static file: %w", err)
		}
		var out []byte
		if kind == "js" {
			out, err = r.transformJS(s.name, string(data))
		} else {
			out, err = minifiers.Bytes(kind, data)
			if err != nil {
				err = &bake.Error{File: s.file, Err: fmt.Errorf("minify: %w", err)}
			}
		}
		if err != nil {
			return err
		}
		if len(out) >= len(data) && !lowered {
			// Nothing to gain. (A script made for targets is kept even
			// when longer: the file itself may use syntax they lack.)
			out = data
		}
		r.p.processed.Add(1)
		res.Out, err = r.p.cache.put(out)
		if err != nil {
			return err
		}
		res.Gzip, res.Brotli = compressedSizes(a.Type, out)
		r.p.cache.putResult(k, res)
	}
	return r.fill(a, "minify", res)
}

// fill sets what a result says of an asset.
func (r *run) fill(a *Asset, kind string, res result) error {
	a.Kind, a.Hash, a.Gzip, a.Brotli = kind, res.Out, res.Gzip, res.Brotli
	if res.Src > 0 {
		a.SourceBytes = res.Src
	}
	a.Source = r.p.cache.objectPath(res.Out)
	fi, err := os.Stat(a.Source)
	if err != nil {
		return fmt.Errorf("asset cache: %w", err)
	}
	a.Bytes = fi.Size()
	if res.Map != "" {
		a.MapSource = r.p.cache.objectPath(res.Map)
		a.MapPath = "/" + res.MapName
	}
	return nil
}

// esbuildAsset makes a stylesheet or a bundle with esbuild, or finds it
// in the cache: valid while every input it read has the hash it had, and
// every file it points at the path it had.
func (r *run) esbuildAsset(a *Asset, b Bundle, maps bool) error {
	opts := key("esbuild", b.Name, b.Entry, strings.Join(b.Files, "\x00"), b.Format, fmt.Sprint(r.p.cfg.Minify, r.p.cfg.Fingerprint, maps), r.p.engine.key, r.p.cfg.URLPrefix)
	if prev, ok := r.p.cache.bundle(b.Name, func(br bundleResult) bool { return br.Opts == opts && r.current(br.Inputs) }); ok {
		return r.fill(a, "minify", prev.result)
	}
	out, err := r.esbuild(b, maps)
	if err != nil {
		return err
	}
	r.p.processed.Add(1)
	res := bundleResult{Opts: opts, Inputs: out.inputs}
	for in := range out.inputs {
		switch kind, name, _ := strings.Cut(in, ":"); kind {
		case "static":
			res.Src += r.srcs[name].size
		case "file":
			if fi, err := os.Stat(name); err == nil {
				res.Src += fi.Size()
			}
		}
	}
	code := out.code
	if out.sourceMap != nil {
		// The map's name holds the hash of the code and the map
		// together, so that either changing gives new names.
		sum := sha256.Sum256(append(slices.Clip(code), out.sourceMap...))
		mapName := FingerprintName(b.Name, hex.EncodeToString(sum[:])) + ".map"
		if !r.p.cfg.Fingerprint || !Fingerprinted(b.Name) || r.p.kept(b.Name) {
			mapName = b.Name + ".map"
		}
		res.MapName = mapName
		code = append(slices.Clip(code), sourceMapComment(b.Name, path.Base(mapName))...)
		if res.Map, err = r.p.cache.put(out.sourceMap); err != nil {
			return err
		}
	}
	if res.Out, err = r.p.cache.put(code); err != nil {
		return err
	}
	res.Gzip, res.Brotli = compressedSizes(a.Type, code)
	r.p.cache.putBundle(b.Name, res)
	return r.fill(a, "minify", res.result)
}

// sourceMapComment returns the comment that points at a source map.
func sourceMapComment(name, file string) string {
	if path.Ext(name) == ".css" {
		return "\n/*# sourceMappingURL=" + file + " */\n"
	}
	return "\n//# sourceMappingURL=" + file + "\n"
}

// current reports whether every input still has the recorded hash.
func (r *run) current(inputs map[string]string) bool {
	for in, want := range inputs {
		got := ""
		switch kind, name, _ := strings.Cut(in, ":"); kind {
		case "static":
			if s, ok := r.srcs[name]; ok {
				got = s.sha
			}
		case "ref":
			r.mu.Lock()
			if a, ok := r.set.assets[name]; ok {
				got = a.Path
			}
			r.mu.Unlock()
		case "file":
			fi, err := os.Stat(name)
			if err != nil {
				return false
			}
			got, _ = r.p.cache.fileHash(name, fi)
		}
		if got != want {
			return false
		}
	}
	return true
}
