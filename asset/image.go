package asset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bakehq/bake"
	"golang.org/x/image/draw"
)

// Images says which responsive variants of images are made.
type Images struct {
	// Widths are the widths, in pixels, of the variants made of every PNG
	// and JPEG image wider than them ({{image "img/x.jpg" 640}}). If
	// empty, none.
	Widths []int
	// WebP makes a WebP of each variant too, with cwebp (Debian's
	// webp package), which must be on PATH.
	WebP bool
	// Quality is the JPEG and WebP quality of variants, 1 to 100. If
	// zero, 80.
	Quality int
}

// Variant is a resized copy of an image.
type Variant struct {
	Width  int
	Format string // "jpeg", "png" or "webp"
	Path   string // URL path
	Source string // the file holding its bytes
	Type   string
	Bytes  int64
}

// tools are the image optimisers and encoders found on PATH.
type tools struct {
	jpegtran, oxipng, optipng, gifsicle string
	cwebp                               string
}

func findTools() tools {
	look := func(name string) string {
		p, _ := exec.LookPath(name)
		return p
	}
	return tools{jpegtran: look("jpegtran"), oxipng: look("oxipng"), optipng: look("optipng"), gifsicle: look("gifsicle"),
		cwebp: look("cwebp")}
}

// ErrNoCwebp is the error of a pipeline asked for WebP copies of images
// on a machine without cwebp.
var ErrNoCwebp = errors.New("webp = true needs cwebp on PATH to make the WebP copies of images " +
	"(Debian: apt install webp; macOS: brew install webp), or set webp = false")

// key says which crushing tools there are, for cache keys: a result made
// without a tool is made again once it is installed.
func (t tools) key() string {
	return fmt.Sprint(t.jpegtran != "", t.oxipng != "", t.optipng != "", t.gifsicle != "")
}

// imageKind returns "png", "jpeg" or "gif" for the images crushed.
func imageKind(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "png"
	case ".jpg", ".jpeg":
		return "jpeg"
	case ".gif":
		return "gif"
	}
	return ""
}

// imageAsset crushes an image losslessly (kept only when smaller), and
// makes its variants.
func (r *run) imageAsset(a *Asset, s *source, kind string) error {
	k := key("crush", kind, r.p.tools.key(), s.sha)
	res, ok := r.p.cache.result(k)
	if !r.p.cfg.Crush {
		res, ok = result{Out: s.sha}, true
	}
	if !ok {
		data, err := os.ReadFile(s.file)
		if err != nil {
			return fmt.Errorf("read static file: %w", err)
		}
		out, err := r.p.crush(kind, data)
		if err != nil {
			return &bake.Error{File: s.file, Err: fmt.Errorf("crush: %w", err)}
		}
		r.p.processed.Add(1)
		if res.Out, err = r.p.cache.put(out); err != nil {
			return err
		}
		r.p.cache.putResult(k, res)
	}
	if res.Out == s.sha {
		// Nothing to gain: the file itself.
		a.Kind, a.Hash, a.Source, a.Bytes = "copy", s.sha, s.file, s.size
	} else if err := r.fill(a, "crush", res); err != nil {
		return err
	}
	if kind == "gif" || len(r.p.cfg.Images.Widths) == 0 {
		return nil
	}
	return r.variants(a, s, kind)
}

// crush returns the smallest lossless encoding of an image it finds: the
// image itself, Go's PNG encoder at its best compression, and the tools on
// PATH (jpegtran -optimize, oxipng or optipng, gifsicle -O3). A file that
// none of them reads (not really an image) is kept as it is: it was
// served so before.
func (p *Pipeline) crush(kind string, data []byte) ([]byte, error) {
	best := data
	try := func(out []byte) {
		if len(out) > 0 && len(out) < len(best) {
			best = out
		}
	}
	switch kind {
	case "png":
		if out, err := recompressPNG(data); err == nil {
			try(out)
		}
		if p.tools.oxipng != "" {
			out, err := runTool(data, ".png", func(in, out string) []string {
				return []string{p.tools.oxipng, "-q", "-o", "2", "--strip", "safe", "--out", out, in}
			})
			if err != nil {
				p.log.Debug("crush", "err", err)
			}
			try(out)
		} else if p.tools.optipng != "" {
			out, err := runTool(data, ".png", func(in, out string) []string {
				return []string{p.tools.optipng, "-quiet", "-o2", "-out", out, in}
			})
			if err != nil {
				p.log.Debug("crush", "err", err)
			}
			try(out)
		}
	case "jpeg":
		if p.tools.jpegtran != "" {
			// Metadata go, but for what changes how the image looks:
			// its orientation (Exif) and colour profile (ICC).
			copyMode := "none"
			if jpegHasAppData(data) {
				copyMode = "all"
			}
			out, err := runTool(data, ".jpg", func(in, out string) []string {
				return []string{p.tools.jpegtran, "-optimize", "-copy", copyMode, "-outfile", out, in}
			})
			if err != nil {
				p.log.Debug("crush", "err", err)
			}
			try(out)
		}
	case "gif":
		if p.tools.gifsicle != "" {
			out, err := runTool(data, ".gif", func(in, out string) []string {
				return []string{p.tools.gifsicle, "-O3", "-o", out, in}
			})
			if err != nil {
				p.log.Debug("crush", "err", err)
			}
			try(out)
		}
	}
	return best, nil
}

// runTool runs an optimiser on data, in a temporary folder.
func runTool(data []byte, ext string, args func(in, out string) []string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "bake-crush-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in"+ext), filepath.Join(dir, "out"+ext)
	if err := os.WriteFile(in, data, 0o600); err != nil {
		return nil, err
	}
	a := args(in, out)
	if b, err := exec.Command(a[0], a[1:]...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(a[0]), err, bytes.TrimSpace(b))
	}
	return os.ReadFile(out)
}

// pngSafeChunks are the chunks Go's PNG encoder may drop without changing
// how the image looks (metadata), or writes itself.
var pngSafeChunks = map[string]bool{"IHDR": true, "PLTE": true, "tRNS": true, "IDAT": true, "IEND": true,
	"tEXt": true, "zTXt": true, "iTXt": true, "tIME": true, "pHYs": true, "sRGB": true}

// recompressPNG decodes a PNG and encodes it again at the best
// compression. A PNG with chunks that change how it looks (a gamma, a
// colour profile) is left alone: Go's encoder would drop them.
func recompressPNG(data []byte) ([]byte, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("not a PNG")
	}
	for p := 8; p+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if !pngSafeChunks[typ] {
			return nil, fmt.Errorf("PNG chunk %s kept as it is", typ)
		}
		p += 12 + n
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// jpegHasAppData reports whether a JPEG carries Exif (APP1) or an ICC
// profile (APP2), which jpegtran -copy none would drop.
func jpegHasAppData(data []byte) bool {
	for p := 2; p+4 <= len(data) && data[p] == 0xFF; {
		m := data[p+1]
		if m == 0xDA { // start of scan: no more markers of interest
			return false
		}
		if m == 0xE1 || m == 0xE2 {
			return true
		}
		p += 2 + int(binary.BigEndian.Uint16(data[p+2:]))
	}
	return false
}

// variants makes (or finds) the resized copies of an image.
func (r *run) variants(a *Asset, s *source, kind string) error {
	cfgImg := r.p.cfg.Images
	q := cfgImg.Quality
	if q <= 0 || q > 100 {
		q = 80
	}
	f, err := os.Open(a.Source)
	if err != nil {
		return fmt.Errorf("read image: %w", err)
	}
	conf, _, err := image.DecodeConfig(f)
	f.Close()
	if err != nil {
		// Not an image after all: served as it is, without variants
		// ({{image}} says so).
		r.p.log.Debug("image variants", "file", s.file, "err", err)
		return nil
	}
	a.Width, a.Height = conf.Width, conf.Height
	var img image.Image // decoded once, when a variant is not in the cache
	formats := []string{kind}
	if cfgImg.WebP {
		formats = append(formats, "webp")
	}
	for _, w := range slices.Sorted(slices.Values(cfgImg.Widths)) {
		if w <= 0 || w >= conf.Width {
			continue
		}
		for _, f := range formats {
			k := key("variant", strconv.Itoa(w), f, strconv.Itoa(q), a.Hash)
			res, ok := r.p.cache.result(k)
			if !ok {
				if img == nil {
					src, err := a.Content()
					if err != nil {
						return err
					}
					if img, _, err = image.Decode(bytes.NewReader(src)); err != nil {
						return &bake.Error{File: s.file, Err: fmt.Errorf("read image: %w", err)}
					}
				}
				out, err := r.p.encodeVariant(resize(img, w), f, q)
				if err != nil {
					return &bake.Error{File: s.file, Err: fmt.Errorf("%d-pixel %s variant: %w", w, f, err)}
				}
				r.p.processed.Add(1)
				if res.Out, err = r.p.cache.put(out); err != nil {
					return err
				}
				r.p.cache.putResult(k, res)
			}
			ext := path.Ext(a.Name)
			if f == "webp" {
				ext = ".webp"
			}
			name := strings.TrimSuffix(a.Name, path.Ext(a.Name)) + "." + strconv.Itoa(w) + "w" + ext
			if r.p.cfg.Fingerprint && !r.p.kept(a.Name) {
				name = FingerprintName(name, res.Out)
			}
			v := Variant{Width: w, Format: f, Path: "/" + name, Source: r.p.cache.objectPath(res.Out), Type: contentType(name)}
			if fi, err := os.Stat(v.Source); err == nil {
				v.Bytes = fi.Size()
			}
			a.Variants = append(a.Variants, v)
		}
	}
	return nil
}

// resize scales an image to width w, keeping its aspect ratio, with the
// Catmull-Rom kernel: bicubic, and scaled with the ratio so that a copy
// much narrower than its source averages every source pixel instead of
// skipping some (no aliasing, unlike bilinear). Resampling is done on
// premultiplied colours (image.RGBA), so transparent pixels do not bleed
// their colour into their neighbours.
func resize(img image.Image, w int) image.Image {
	b := img.Bounds()
	h := max(1, (b.Dy()*w+b.Dx()/2)/b.Dx())
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// encodeVariant encodes a resized image: JPEG and PNG in Go, WebP with
// cwebp (lossy at quality, alpha kept, no metadata), given the pixels as
// a PNG. There is no WebP encoder in Go's standard library or x/image, and
// the ports of libwebp to Go load it at run time (a shared library or
// WebAssembly through purego, which makes bake's binary dynamically
// linked): a tool on PATH keeps the binary static, as for crushing.
func (p *Pipeline) encodeVariant(img image.Image, format string, quality int) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: quality})
	case "png":
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img)
	case "webp":
		if p.tools.cwebp == "" {
			return nil, ErrNoCwebp
		}
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
			return nil, err
		}
		return runTool(b.Bytes(), ".png", func(in, out string) []string {
			return []string{p.tools.cwebp, "-quiet", "-q", strconv.Itoa(quality), "-metadata", "none", "-o", out, "--", in}
		})
	}
	return b.Bytes(), err
}

// Variant returns the variant of a of width w in format ("" for the
// image's own), or false when there is none (a width not configured, or
// not narrower than the image).
func (a *Asset) Variant(w int, format string) (Variant, bool) {
	for _, v := range a.Variants {
		if v.Width == w && (v.Format == format || format == "" && v.Format != "webp") {
			return v, true
		}
	}
	return Variant{}, false
}
