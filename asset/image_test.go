package asset

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/gen2brain/webp"
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
	for _, v := range a.Variants {
		data, err := os.ReadFile(v.Source)
		if err != nil {
			t.Fatal(err)
		}
		var cfg image.Config
		if v.Format == "webp" {
			cfg, err = webp.DecodeConfig(bytes.NewReader(data))
		} else {
			cfg, _, err = image.DecodeConfig(bytes.NewReader(data))
		}
		if err != nil || cfg.Width != v.Width || cfg.Height != v.Width/2 {
			t.Errorf("%s: %dx%d (%v), want %dx%d", v.Path, cfg.Width, cfg.Height, err, v.Width, v.Width/2)
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
}
