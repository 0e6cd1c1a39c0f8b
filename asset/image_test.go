package asset

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/image/webp"
)

// testImage is a picture with smooth gradients and some noise, as a photo
// or a screenshot would have.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x * y) % 7 * 30), 255})
		}
	}
	return img
}

// imageSite writes a PNG stored without compression, a JPEG and a GIF.
func imageSite(t *testing.T) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "static", "img"), 0o755)
	var b bytes.Buffer
	(&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, testImage(800, 400))
	os.WriteFile(filepath.Join(dir, "static/img/photo.png"), b.Bytes(), 0o644)
	b.Reset()
	jpeg.Encode(&b, testImage(1000, 500), &jpeg.Options{Quality: 90})
	os.WriteFile(filepath.Join(dir, "static/img/photo.jpg"), b.Bytes(), 0o644)
	b.Reset()
	// An animation whose frames differ in a corner: gifsicle -O3 stores
	// only what changes.
	anim := &gif.GIF{}
	for i := range 3 {
		pal := image.NewPaletted(image.Rect(0, 0, 200, 100), []color.Color{color.White, color.Black, color.RGBA{255, 0, 0, 255}})
		for y := range 100 {
			for x := range 200 {
				pal.SetColorIndex(x, y, uint8((x*y+x/3)%3))
			}
		}
		pal.SetColorIndex(i, i, 2)
		anim.Image = append(anim.Image, pal)
		anim.Delay = append(anim.Delay, 10)
	}
	gif.EncodeAll(&b, anim)
	os.WriteFile(filepath.Join(dir, "static/img/anim.gif"), b.Bytes(), 0o644)
	return dir
}

// samePixels reports whether two encoded images decode to the same
// pixels.
func samePixels(t *testing.T, a, b []byte) bool {
	t.Helper()
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		return false
	}
	for y := ia.Bounds().Min.Y; y < ia.Bounds().Max.Y; y++ {
		for x := ia.Bounds().Min.X; x < ia.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := ia.At(x, y).RGBA()
			r2, g2, b2, a2 := ib.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// TestCrush: images are recompressed without changing a pixel, kept only
// when smaller, crushed once (the cache finds them in a new pipeline); the
// tools on PATH are used (jpegtran, optipng, gifsicle: Debian's
// libjpeg-turbo-progs, optipng, gifsicle).
func TestCrush(t *testing.T) {
	t.Parallel()
	dir := imageSite(t)
	cfg := Config{Dirs: []string{filepath.Join(dir, "static")}, CacheDir: filepath.Join(dir, "cache"), Crush: true, Fingerprint: true}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	set := mustRun(t, p)
	for _, n := range []string{"img/photo.png", "img/photo.jpg", "img/anim.gif"} {
		a, _ := set.Lookup(n)
		src, _ := os.ReadFile(filepath.Join(dir, "static", n))
		out := readAsset(t, a)
		t.Logf("%s: %d → %d bytes (%s)", n, len(src), len(out), a.Kind)
		if len(out) > len(src) {
			t.Errorf("%s grew: %d → %d", n, len(src), len(out))
		}
		if !samePixels(t, src, []byte(out)) {
			t.Errorf("%s: crushing changed pixels", n)
		}
	}
	if a, _ := set.Lookup("img/photo.png"); a.Kind != "crush" || a.Bytes*2 > a.SourceBytes {
		t.Errorf("an uncompressed PNG was not crushed: %s, %d → %d bytes", a.Kind, a.SourceBytes, a.Bytes)
	}
	for tool, name := range map[string]string{"jpegtran": "img/photo.jpg", "gifsicle": "img/anim.gif"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Errorf("no %s on PATH (scripts/test installs it)", tool)
			}
			continue
		}
		if a, _ := set.Lookup(name); a.Kind != "crush" {
			t.Errorf("%s: %s did not make it smaller (%s)", name, tool, a.Kind)
		}
	}
	p2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, p2)
	if n := p2.Processed(); n != 0 {
		t.Errorf("a new pipeline crushed %d images again", n)
	}
}

// TestVariants: each width below the image's gets a resized copy, in its
// format and in WebP, made once.
func TestVariants(t *testing.T) {
	t.Parallel()
	dir := imageSite(t)
	if _, err := exec.LookPath("cwebp"); err != nil {
		if testenv.InCI() {
			t.Fatal("no cwebp on PATH (Debian's webp)")
		}
		t.Skip("no cwebp on PATH (Debian's webp)")
	}
	cfg := Config{Dirs: []string{filepath.Join(dir, "static")}, CacheDir: filepath.Join(dir, "cache"), Fingerprint: true,
		Images: Images{Widths: []int{640, 320, 2000}, WebP: true}}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	set := mustRun(t, p)
	a, _ := set.Lookup("img/photo.jpg")
	if a.Width != 1000 || a.Height != 500 || len(a.Variants) != 4 {
		t.Fatalf("photo.jpg: %dx%d, %d variants, want 1000x500 and 4 (320, 640; jpeg, webp)", a.Width, a.Height, len(a.Variants))
	}
	src := testImage(1000, 500)
	for _, v := range a.Variants {
		data, err := os.ReadFile(v.Source)
		if err != nil {
			t.Fatal(err)
		}
		var img image.Image
		if v.Format == "webp" {
			img, err = webp.Decode(bytes.NewReader(data))
		} else {
			img, _, err = image.Decode(bytes.NewReader(data))
		}
		if err != nil {
			t.Errorf("%s: %v", v.Path, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != v.Width || b.Dy() != v.Width/2 {
			t.Errorf("%s: %dx%d, want %dx%d", v.Path, b.Dx(), b.Dy(), v.Width, v.Width/2)
			continue
		}
		d := gradientError(src, img)
		t.Logf("%s: %d bytes, %.1f levels off", v.Path, len(data), d)
		if d > 12 {
			t.Errorf("%s: red and green are %.1f off the source's gradients on average", v.Path, d)
		}
	}
	if v, ok := a.Variant(640, "webp"); !ok || filepath.Ext(v.Path) != ".webp" {
		t.Errorf("no 640 WebP: %+v", v)
	}
	if _, ok := a.Variant(2000, ""); ok {
		t.Errorf("a variant wider than the image")
	}
	before := p.Processed()
	mustRun(t, p)
	if n := p.Processed() - before; n != 0 {
		t.Errorf("variants made again: %d", n)
	}

	// Made again from nothing (another machine, a deleted cache), every
	// copy has the same bytes, so the same fingerprinted name.
	cfg.CacheDir = filepath.Join(dir, "cache2")
	p2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := mustRun(t, p2).Lookup("img/photo.jpg")
	var paths, paths2 []string
	for i := range a.Variants {
		paths, paths2 = append(paths, a.Variants[i].Path), append(paths2, a2.Variants[i].Path)
	}
	if diff := cmp.Diff(paths, paths2); diff != "" {
		t.Errorf("variants made again differ (-first +again):\n%s", diff)
	}
}

// TestWebPNeedsCwebp: WebP copies without cwebp on PATH are a problem
// that says what to install; copies in the image's own format, and WebP
// without widths, need nothing.
func TestWebPNeedsCwebp(t *testing.T) {
	dir := imageSite(t)
	t.Setenv("PATH", t.TempDir())
	cfg := Config{Dirs: []string{filepath.Join(dir, "static")}, CacheDir: filepath.Join(dir, "cache"), Fingerprint: true,
		Images: Images{Widths: []int{320}, WebP: true}}
	if _, err := New(cfg); !errors.Is(err, ErrNoCwebp) || !strings.Contains(err.Error(), "apt install webp") {
		t.Errorf("webp without cwebp: %v", err)
	}
	cfg.Images.WebP = false
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := mustRun(t, p).Lookup("img/photo.png")
	if len(a.Variants) != 1 || a.Variants[0].Format != "png" {
		t.Errorf("photo.png variants: %+v", a.Variants)
	}
	cfg.Images = Images{WebP: true}
	if _, err := New(cfg); err != nil {
		t.Errorf("webp without widths: %v", err)
	}
}

// gradientError compares a resized copy of testImage with it: the mean
// absolute difference, in 8-bit levels, of the red and green channels
// (smooth gradients, which any resampling keeps) between each pixel of the
// copy and the source pixel at the same place. A copy shifted, stretched
// or garbled is far off; a lossy one at quality 80 is within a few levels.
func gradientError(src *image.NRGBA, img image.Image) float64 {
	sb, b := src.Bounds(), img.Bounds()
	var sum, n float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, _, _ := img.At(x, y).RGBA()
			sx := sb.Min.X + ((x-b.Min.X)*sb.Dx()+sb.Dx()/2)/b.Dx()
			sy := sb.Min.Y + ((y-b.Min.Y)*sb.Dy()+sb.Dy()/2)/b.Dy()
			c := src.NRGBAAt(sx, sy)
			sum += abs(float64(r>>8)-float64(c.R)) + abs(float64(g>>8)-float64(c.G))
			n += 2
		}
	}
	return sum / n
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
