package bake

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestManifestRoundTrip(t *testing.T) {
	m := &Manifest{Entries: []Entry{
		{Path: "/", SHA256: "ab", Size: 10, Type: "text/html; charset=utf-8", Route: "home", Deps: []Dep{"table:items"}},
		{Path: "/items/x/", SHA256: "cd", Size: 20, Type: "text/html; charset=utf-8", Route: "item", Key: "7",
			LastMod: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Deps: []Dep{"row:items/7", "tmpl:item.html"}},
		{Path: "/old/", SHA256: "ef", Size: 5, Type: "text/html; charset=utf-8", Redirect: "/new/"},
	}}
	var buf bytes.Buffer
	if err := WriteManifest(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if e, ok := got.Lookup("/items/x/"); !ok || e.Key != "7" {
		t.Errorf("Lookup = %+v, %v", e, ok)
	}
	if _, ok := got.Lookup("/nope/"); ok {
		t.Error("Lookup of a missing path succeeded")
	}
}

func TestManifestErrors(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"not a manifest", `{"hello":1}` + "\n", "not a bake manifest"},
		{"newer", `{"bake_manifest":99}` + "\n", "newer than this bake"},
		{"bad line", `{"bake_manifest":1}` + "\n{oops\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadManifest(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
	var buf bytes.Buffer
	mw, _ := NewManifestWriter(&buf)
	mw.Write(&Entry{Path: "/b"})
	if err := mw.Write(&Entry{Path: "/a"}); err == nil {
		t.Error("unsorted write accepted")
	}
}
