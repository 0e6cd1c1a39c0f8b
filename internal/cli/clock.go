package cli

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// clockEnv names the environment variable that sets bake's clock: the
// path of a file holding an RFC 3339 time, read at every look at the
// clock. It is for rehearsals and tests of scheduled publishing: the
// time :now stands for in queries, when [[jobs.schedule]] rows are due
// and when bake run's scheduled jobs run all follow the file, so a test
// moves time by writing it.
const clockEnv = "BAKE_CLOCK"

// clock is bake's clock: the system's, or the file of BAKE_CLOCK.
type clock struct {
	file string
}

// systemClock returns the clock BAKE_CLOCK sets, or the system's; an
// unreadable clock file is an error naming it.
func systemClock() (clock, error) {
	c := clock{file: os.Getenv(clockEnv)}
	if c.file == "" {
		return c, nil
	}
	if _, err := c.read(); err != nil {
		return c, fmt.Errorf("%s: %w (it names a file holding an RFC 3339 time, as 2027-01-01T06:00:00Z; unset it to use the system clock)", clockEnv, err)
	}
	return c, nil
}

// fake reports whether the clock is not the system's.
func (c clock) fake() bool { return c.file != "" }

// Now returns the time: the file's, or the system's when there is no
// file or it cannot be read now (it was checked by systemClock).
func (c clock) Now() time.Time {
	if c.file != "" {
		if t, err := c.read(); err == nil {
			return t
		}
	}
	return time.Now()
}

func (c clock) read() (time.Time, error) {
	b, err := os.ReadFile(c.file)
	if err != nil {
		return time.Time{}, err
	}
	return parseTime(strings.TrimSpace(string(b)))
}

// parseTime reads a time given by a user: RFC 3339, or a date and time
// without a zone (UTC), or a date (its midnight, UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not RFC 3339 (2027-01-01T06:00:00Z) nor a UTC date and time (2027-01-01 06:00)", s)
}
