package cli

import "testing"

func TestProgressDoing(t *testing.T) {
	for _, c := range []struct {
		name  string
		phase func() string
		want  string
	}{
		{"no phase", nil, "building"},
		{"phase not started", func() string { return "" }, "building"},
		{"phase", func() string { return "live; removing the previous build" }, "live; removing the previous build"},
	} {
		s := progressSpec{verb: "building", unit: "pages", phase: c.phase}
		if got := s.doing(); got != c.want {
			t.Errorf("%s: doing() = %q, want %q", c.name, got, c.want)
		}
	}
}
