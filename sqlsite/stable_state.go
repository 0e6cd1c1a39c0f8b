// The state a build keeps of its stable lists (see stable.go), and the
// database values of their boundaries: encoded, decoded and compared.

package sqlsite

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stableRoute is what a build keeps of a stable list route: the state of
// its list, or of each group's (by the path of its first page).
type stableRoute struct {
	Sig   string                  `json:"sig"`
	Lists map[string]*stableState `json:"lists"` // as this pass leaves them

	kept map[string]*stableState // as the last build left them
}

// stableState is what a build keeps of one stable list: its boundaries,
// oldest page first (Bounds[k-1] starts page k), and its number of rows.
type stableState struct {
	Total  int        `json:"total"`
	Bounds [][]string `json:"bounds"` // encoded values (encodeValue)

	bounds [][]any // decoded
	// raw is the state as the last build stored it, until decoded: a
	// pass reads only the lists it changes (one of a grouped route's, for
	// an insert), and stores the others as they were.
	raw json.RawMessage
}

// decode reads st.raw, once; an error leaves st as it was.
func (st *stableState) decode() error {
	if st.raw == nil {
		return nil
	}
	var d stableState
	if err := json.Unmarshal(st.raw, &d); err != nil {
		return err
	}
	d.bounds = make([][]any, len(d.Bounds))
	for i, b := range d.Bounds {
		d.bounds[i] = make([]any, len(b))
		for j, e := range b {
			x, err := decodeValue(e)
			if err != nil {
				return err
			}
			d.bounds[i][j] = x
		}
	}
	st.Total, st.Bounds, st.bounds, st.raw = d.Total, d.Bounds, d.bounds, nil
	return nil
}

// MarshalJSON writes st as stored, raw when it was not decoded.
func (st *stableState) MarshalJSON() ([]byte, error) {
	if st.raw != nil {
		return st.raw, nil
	}
	type plain stableState
	return json.Marshal((*plain)(st))
}

// pages is the number of pages of the list, the front included.
func (st *stableState) pages() int { return len(st.bounds) + 1 }

// clone returns a copy of st that can be changed.
func (st *stableState) clone() *stableState {
	return &stableState{Total: st.Total, bounds: slices.Clone(st.bounds)}
}

func stableValueName(route string) string { return "pages:" + route }

func (sr *stableRoute) encode() string {
	for _, st := range sr.Lists {
		if st.raw != nil {
			continue // as it was
		}
		st.Bounds = make([][]string, len(st.bounds))
		for i, b := range st.bounds {
			st.Bounds[i] = make([]string, len(b))
			for j, v := range b {
				st.Bounds[i][j] = encodeValue(v)
			}
		}
	}
	out, _ := json.Marshal(sr)
	return string(out)
}

// decodeStable reads a kept state; one without lists when there is none
// or it was made for another order or per_page. Its lists are decoded
// when read (stableState.decode).
func decodeStable(v, sig string) *stableRoute {
	var raw struct {
		Sig   string                     `json:"sig"`
		Lists map[string]json.RawMessage `json:"lists"`
	}
	if v == "" || json.Unmarshal([]byte(v), &raw) != nil || raw.Sig != sig {
		return &stableRoute{Sig: sig, Lists: map[string]*stableState{}}
	}
	sr := &stableRoute{Sig: sig, Lists: make(map[string]*stableState, len(raw.Lists))}
	for base, r := range raw.Lists {
		sr.Lists[base] = &stableState{raw: r}
	}
	return sr
}

// encodeValue writes a database value with its type, for decodeValue.
func encodeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "n"
	case int64:
		return "i" + strconv.FormatInt(v, 10)
	case int:
		return "i" + strconv.Itoa(v)
	case int32:
		return "i" + strconv.FormatInt(int64(v), 10)
	case float64:
		return "f" + strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return "f" + strconv.FormatFloat(float64(v), 'g', -1, 64)
	case bool:
		if v {
			return "b1"
		}
		return "b0"
	case string:
		return "s" + v
	case []byte:
		return "x" + base64.StdEncoding.EncodeToString(v)
	case time.Time:
		return "d" + v.Format(time.RFC3339Nano)
	}
	return "o" + fmt.Sprint(v)
}

func decodeValue(e string) (any, error) {
	if e == "" {
		return nil, errors.New("empty value")
	}
	rest := e[1:]
	switch e[0] {
	case 'n':
		return nil, nil
	case 'i':
		return strconv.ParseInt(rest, 10, 64)
	case 'f':
		return strconv.ParseFloat(rest, 64)
	case 'b':
		return rest == "1", nil
	case 's':
		return rest, nil
	case 'x':
		return base64.StdEncoding.DecodeString(rest)
	case 'd':
		return time.Parse(time.RFC3339Nano, rest)
	case 'o':
		return otherValue(rest), nil
	}
	return nil, fmt.Errorf("unknown value %q", e)
}

// otherValue is a value of a type the drivers return that bake does not
// know, compared by its printed form.
type otherValue string

// compareValues orders a and b as the database orders a column in
// ascending order: NULL first on SQLite and last on PostgreSQL, numbers
// by value, text and blobs byte by byte (the BINARY collation of SQLite,
// COLLATE "C" of PostgreSQL), times by instant.
func compareValues(a, b any, dialect string) int {
	ra, rb := valueRank(a, dialect), valueRank(b, dialect)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case nil:
		return 0
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case time.Time:
		return x.Compare(b.(time.Time))
	case otherValue:
		return strings.Compare(string(x), string(b.(otherValue)))
	}
	if fa, ok := number(a); ok {
		fb, _ := number(b)
		if ia, ok := a.(int64); ok {
			if ib, ok := b.(int64); ok {
				return cmp.Compare(ia, ib)
			}
		}
		return cmp.Compare(fa, fb)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// valueRank orders values of different types: SQLite's NULL < numbers <
// text < blobs; on PostgreSQL (one type a column) NULL sorts last.
func valueRank(v any, dialect string) int {
	switch v.(type) {
	case nil:
		if dialect == Postgres {
			return 9
		}
		return 0
	case string:
		return 2
	case []byte:
		return 3
	case time.Time:
		return 4
	case otherValue:
		return 5
	}
	if _, ok := number(v); ok {
		return 1
	}
	return 6
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case int32:
		return float64(v), true
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// normalize turns what a driver returns into what decodeValue returns, so
// that a row's values and a kept boundary compare alike.
func normalize(v any) any {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case float32:
		return float64(v)
	case []byte:
		return v
	case nil, int64, float64, bool, string, time.Time:
		return v
	}
	return otherValue(fmt.Sprint(v))
}
