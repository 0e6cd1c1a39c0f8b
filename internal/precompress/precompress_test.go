package precompress

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func page(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("<p class=\"item\">Item number ")
		b.WriteByte(byte('0' + i%10))
		b.WriteString(" of the list</p>\n")
	}
	return b.Bytes()[:n]
}

func TestCompress(t *testing.T) {
	random := make([]byte, 4096)
	rand.Read(random)
	both := Options{Codings: []string{Gzip, Brotli}}
	tests := []struct {
		name  string
		opts  Options
		ctype string
		data  []byte
		want  []string // codings of the siblings made
	}{
		{"html", both, "text/html; charset=utf-8", page(4000), []string{Brotli, Gzip}},
		{"css", both, "text/css; charset=utf-8", page(2000), []string{Brotli, Gzip}},
		{"svg", both, "image/svg+xml", page(2000), []string{Brotli, Gzip}},
		{"feed", both, "application/atom+xml", page(2000), []string{Brotli, Gzip}},
		{"manifest", both, "application/manifest+json", page(2000), []string{Brotli, Gzip}},
		{"gzip only", Options{Codings: []string{Gzip}}, "text/html", page(4000), []string{Gzip}},
		{"repeated codings", Options{Codings: []string{Gzip, Gzip}}, "text/html", page(4000), []string{Gzip}},
		{"below the threshold", both, "text/html", page(1023), nil},
		{"at the threshold", both, "text/html", page(1024), []string{Brotli, Gzip}},
		{"threshold set", Options{Codings: []string{Gzip}, MinSize: 5000}, "text/html", page(4999), nil},
		{"not text", both, "image/png", page(4000), nil},
		{"not smaller", both, "text/plain", random, nil},
		{"off", Options{}, "text/html", page(4000), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCompressor(tt.opts)
			sibs, err := c.Compress(tt.ctype, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sibs {
				got = append(got, s.Coding)
				if s.Ext != Ext(s.Coding) {
					t.Errorf("%s: ext %q", s.Coding, s.Ext)
				}
				if len(s.Data) >= len(tt.data) {
					t.Errorf("%s: %d bytes, not smaller than %d", s.Coding, len(s.Data), len(tt.data))
				}
				back, err := Decode(s.Coding, s.Data, int64(len(tt.data)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(back, tt.data) {
					t.Errorf("%s: does not decompress to the file", s.Coding)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("codings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeterministic: the same bytes give the same siblings, whatever the
// compressor compressed before, and gzip's header has no time or name.
func TestDeterministic(t *testing.T) {
	opts := Options{Codings: []string{Gzip, Brotli}}
	data := page(300 << 10) // above BigSize too
	for _, size := range []int{2000, len(data)} {
		a := NewCompressor(opts)
		first, err := a.Compress("text/html", data[:size])
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]byte{}
		for _, s := range first {
			want[s.Coding] = bytes.Clone(s.Data)
		}
		// Another compressor, used on other bytes first.
		b := NewCompressor(opts)
		if _, err := b.Compress("text/html", page(50000)); err != nil {
			t.Fatal(err)
		}
		again, err := b.Compress("text/html", data[:size])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range again {
			if !bytes.Equal(want[s.Coding], s.Data) {
				t.Errorf("size %d, %s: different bytes from another compressor", size, s.Coding)
			}
			if enc, _ := b.Encode(s.Coding, data[:size]); !bytes.Equal(enc, s.Data) {
				t.Errorf("size %d, %s: Encode differs from Compress", size, s.Coding)
			}
		}
		gz := want[Gzip]
		// RFC 1952: MTIME is bytes 4–7, FLG (byte 3) has no FNAME.
		if !bytes.Equal(gz[4:8], []byte{0, 0, 0, 0}) || gz[3] != 0 {
			t.Errorf("gzip header %x: has a time or a name", gz[:10])
		}
	}
}

func TestDecodeLimit(t *testing.T) {
	c := NewCompressor(Options{Codings: []string{Gzip, Brotli}})
	for _, cd := range Codings {
		enc, err := c.Encode(cd, page(10000))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(cd, enc, 9999); err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%s: over the limit: err %v", cd, err)
		}
		if _, err := Decode(cd, enc[:len(enc)/2], 10000); err == nil {
			t.Errorf("%s: truncated: no error", cd)
		}
	}
}

func TestOptions(t *testing.T) {
	if err := (Options{Codings: []string{"zstd"}}).Check(); err == nil || !strings.Contains(err.Error(), `"zstd"`) {
		t.Errorf("zstd: %v", err)
	}
	if err := (Options{MinSize: -1}).Check(); err == nil {
		t.Error("negative MinSize: no error")
	}
	a := Options{Codings: []string{Gzip, Brotli}}.String()
	b := Options{Codings: []string{Brotli, Gzip, Gzip}, MinSize: DefaultMinSize}.String()
	if a != b || a != "br,gzip min=1024" {
		t.Errorf("String: %q and %q", a, b)
	}
	if s := (Options{}).String(); s != "off" {
		t.Errorf("off: %q", s)
	}
}

func BenchmarkCompress(b *testing.B) {
	data := page(11 << 10)
	for _, cd := range Codings {
		b.Run(cd, func(b *testing.B) {
			c := NewCompressor(Options{Codings: []string{cd}})
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.Compress("text/html", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
