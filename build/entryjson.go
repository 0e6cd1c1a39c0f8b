package build

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/bakehq/bake"
)

// entryLine encodes manifest entries as encoding/json does (with HTML
// escaping off), one line each, reusing its buffers. Most entries hold
// only plain ASCII text: those are appended directly, without the
// reflection of json.Encoder (0.34 s of a 100k build's 17.6 s of CPU);
// any other goes through json.Encoder. TestEntryLineAsJSON and
// FuzzEntryLineAsJSON compare the two.
type entryLine struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// jsonOnly makes entryLine use json.Encoder for every entry (benchmarks
// compare the two).
var jsonOnly bool

// encode returns e's line, with its newline, valid until the next call.
func (l *entryLine) encode(e *bake.Entry) ([]byte, error) {
	l.buf.Reset()
	if b, ok := appendEntry(l.buf.AvailableBuffer(), e); ok && !jsonOnly {
		l.buf.Write(b)
		return l.buf.Bytes(), nil
	}
	if l.enc == nil {
		l.enc = json.NewEncoder(&l.buf)
		l.enc.SetEscapeHTML(false)
	}
	l.buf.Reset()
	if err := l.enc.Encode(e); err != nil {
		return nil, err
	}
	return l.buf.Bytes(), nil
}

// appendEntry appends e as json.Encoder writes it (fields in order, the
// omitempty and omitzero ones left out when empty, a newline at the end)
// and reports true, or reports false when a string of e is not plain
// (see plainJSON) or its date is one json would refuse or write otherwise.
func appendEntry(b []byte, e *bake.Entry) ([]byte, bool) {
	b = append(b, `{"path":`...)
	var ok bool
	if b, ok = appendPlain(b, e.Path); !ok {
		return b, false
	}
	b = append(b, `,"sha256":`...)
	if b, ok = appendPlain(b, e.SHA256); !ok {
		return b, false
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, e.Size, 10)
	b = append(b, `,"type":`...)
	if b, ok = appendPlain(b, e.Type); !ok {
		return b, false
	}
	if e.Route != "" {
		b = append(b, `,"route":`...)
		if b, ok = appendPlain(b, e.Route); !ok {
			return b, false
		}
	}
	if e.Key != "" {
		b = append(b, `,"key":`...)
		if b, ok = appendPlain(b, e.Key); !ok {
			return b, false
		}
	}
	if !e.LastMod.IsZero() {
		// time.Time.MarshalJSON: RFC 3339 with nanoseconds; an error for
		// a year outside 0–9999 or an offset not in whole minutes within
		// a day (left to json, which reports it).
		if y := e.LastMod.Year(); y < 0 || y > 9999 {
			return b, false
		}
		if _, off := e.LastMod.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
			return b, false
		}
		b = append(b, `,"lastmod":"`...)
		b = e.LastMod.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if e.Redirect != "" {
		b = append(b, `,"redirect":`...)
		if b, ok = appendPlain(b, e.Redirect); !ok {
			return b, false
		}
	}
	if len(e.Encodings) > 0 {
		b = append(b, `,"enc":[`...)
		for i, s := range e.Encodings {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendPlain(b, s); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if len(e.Deps) > 0 {
		b = append(b, `,"deps":[`...)
		for i, d := range e.Deps {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendPlain(b, string(d)); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if e.Digest != "" {
		b = append(b, `,"input":`...)
		if b, ok = appendPlain(b, e.Digest); !ok {
			return b, false
		}
	}
	if e.Rows != nil {
		b = append(b, `,"rows":{"at":`...)
		b = strconv.AppendInt(b, int64(e.Rows.At), 10)
		b = append(b, `,"lens":`...)
		if e.Rows.Lens == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, l := range e.Rows.Lens {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(l), 10)
			}
			b = append(b, ']')
		}
		b = append(b, `,"keys":`...)
		if e.Rows.Keys == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, k := range e.Rows.Keys {
				if i > 0 {
					b = append(b, ',')
				}
				if b, ok = appendPlain(b, k); !ok {
					return b, false
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "}\n"...), true
}

// appendPlain appends s quoted, and reports true, if json writes it as it
// is between quotes: printable ASCII but '"' and '\\' (with HTML escaping
// off, '<', '>' and '&' stay as they are).
func appendPlain(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
