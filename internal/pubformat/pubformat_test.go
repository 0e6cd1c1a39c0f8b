package pubformat

import (
	"crypto/sha256"
	"testing"
)

func TestLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"path":"/","sha256":"a","size":1,"type":"text/html; charset=utf-8"}`, `{"path":"/","sha256":"a","size":1,"type":"text/html; charset=utf-8"}`},
		{`{"path":"/a/","sha256":"a","size":1,"type":"t","deps":["row:t/1"],"input":"ff"}`, `{"path":"/a/","sha256":"a","size":1,"type":"t"}`},
		{`{"path":"/a/","sha256":"a","size":1,"type":"t","input":"ff"}`, `{"path":"/a/","sha256":"a","size":1,"type":"t"}`},
		// A path that looks like the field names is escaped JSON, not cut.
		{`{"path":"/x\",\"deps\":/","sha256":"a","size":1,"type":"t","deps":["tmpl:a.html"]}`, `{"path":"/x\",\"deps\":/","sha256":"a","size":1,"type":"t"}`},
	}
	for _, tt := range tests {
		if got := string(Line([]byte("keep:"), []byte(tt.in))); got != "keep:"+tt.want {
			t.Errorf("Line(%s) = %s, want keep:%s", tt.in, got, tt.want)
		}
	}
}

// TestBucketIsStable pins the bucket of a few paths: published manifests
// depend on it.
func TestBucketIsStable(t *testing.T) {
	for path, want := range map[string]int{"/": 0x8a5, "/items/1/": 0x07c, "/feed.xml": 0x579} {
		s := sha256.Sum256([]byte(path))
		if got := Bucket(path); got != want || got != int(s[0])<<4|int(s[1]>>4) || got >= Buckets {
			t.Errorf("Bucket(%q) = %#x, want %#x", path, got, want)
		}
	}
}

func TestHash(t *testing.T) {
	var h Hash
	if got := h.Sum(); got.Digest != EmptyDigest || got.Files != 0 {
		t.Errorf("empty: %+v", got)
	}
	h.Add([]byte("a"))
	h.Add([]byte("b"))
	if got, want := h.Sum(), (Sum{Digest: sha256.Sum256([]byte("a\nb\n")), Files: 2}); got != want {
		t.Errorf("Sum = %+v, want %+v", got, want)
	}
}
