package bake

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDep(t *testing.T) {
	tests := []struct {
		in              string
		kind, name, key string
		err             string
	}{
		{"row:items/42", "row", "items", "42", ""},
		{"row:items/a/b", "row", "items", "a/b", ""},
		{"table:items", "table", "items", "", ""},
		{"tmpl:partials/card.html", "tmpl", "partials/card.html", "", ""},
		{"asset:css/app.css", "asset", "css/app.css", "", ""},
		{"row:items", "", "", "", "row:table/key"},
		{"row:/42", "", "", "", "row:table/key"},
		{"items", "", "", "", "missing ':'"},
		{":x", "", "", "", "empty kind"},
		{"Row:x", "", "", "", "lowercase"},
		{"table:", "", "", "", "empty name"},
		{"table:a\nb", "", "", "", "control"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDep(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDep(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind() != tt.kind || d.Name() != tt.name || d.Key() != tt.key {
				t.Errorf("ParseDep(%q) = kind %q name %q key %q", tt.in, d.Kind(), d.Name(), d.Key())
			}
		})
	}
}

func TestConstructorsParse(t *testing.T) {
	for _, d := range []Dep{RowDep("items", "42"), TableDep("items"), TmplDep("a.html"), AssetDep("x.css"), QueryDep("cats"), ConfigDep("bake.toml")} {
		if _, err := ParseDep(string(d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

func TestTrack(t *testing.T) {
	Track(context.Background(), TableDep("ignored")) // no tracker: no panic
	var tr Tracker
	ctx := WithTracker(context.Background(), &tr)
	Track(ctx, RowDep("items", "2"), TableDep("items"))
	Track(ctx, RowDep("items", "2"))
	want := []Dep{"row:items/2", "table:items"}
	if diff := cmp.Diff(want, tr.Deps()); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
}

func FuzzParseDep(f *testing.F) {
	for _, s := range []string{"row:items/42", "table:x", "a:b", "row:", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDep(s)
		if err != nil {
			return
		}
		if string(d) != s || d.Kind() == "" || d.Name() == "" {
			t.Fatalf("ParseDep(%q) = %q kind %q name %q", s, d, d.Kind(), d.Name())
		}
		if d.Kind() == KindRow && RowDep(d.Name(), d.Key()) != d {
			t.Fatalf("row dep %q does not round-trip", s)
		}
	})
}
