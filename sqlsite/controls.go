package sqlsite

import (
	"encoding/binary"
	"io"
	"path"
	"strings"
	"unsafe"
)

// Control characters in HTML pages. The HTML standard forbids control
// characters other than ASCII whitespace in text and attribute values, and
// a validator rejects every page that shows one; html/template passes them
// through from row values (it replaces NUL alone), and so does Markdown.
// Every byte of an HTML page a template renders goes through a
// controlFilter, which replaces them with U+FFFD, as the feed writer does:
// text, attributes, RCDATA, Markdown's HTML and cached fragments alike.
// JS, CSS and URL contexts escape them already, so they never reach it.

// forbiddenControl reports whether r is a control character that HTML
// text may not hold: C0 but tab, line feed, form feed and carriage return
// (ASCII whitespace); DEL; C1.
func forbiddenControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\f' && r != '\r' || r >= 0x7f && r <= 0x9f
}

// htmlPath reports whether a template page at path is HTML: a folder
// page, or a file whose name ends in .html or .htm or has no extension.
func htmlPath(p string) bool {
	if strings.HasSuffix(p, "/") {
		return true
	}
	switch strings.ToLower(path.Ext(p)) {
	case "", ".html", ".htm":
		return true
	}
	return false
}

// controlFilter writes to w what is written to it, with the control
// characters forbidden in HTML replaced by U+FFFD. A C1 character is two
// bytes (0xC2 0x80–0x9F), and the references html/template makes of a
// vertical tab and a carriage return five (controlRefs): what may be the
// start of one at the end of a write is held until the next, and Close
// writes what is left.
type controlFilter struct {
	w       io.Writer
	pending string // the end of the last write, held
	err     error
}

const replacement = "\uFFFD"

// html/template escapes a vertical tab in an unquoted attribute value as
// &#11;, a reference to a control character, as forbidden as the
// character, and a carriage return as &#13;, which HTML forbids too
// (control-character-reference) though it allows the raw character; it
// leaves the other controls as they are. controlRefs replaces the first
// with U+FFFD and the second with the line feed the parser reads a raw
// carriage return as, and so a quoted value shows it.
var controlRefs = strings.NewReplacer("&#11;", "&#xfffd;", "&#13;", "&#10;")

// refLen is the length of both references controlRefs replaces, which
// start alike: refStart, then 1 or 3, then ;.
const (
	refLen   = len("&#11;")
	refStart = "&#1"
)

// hasControlRef reports whether p holds a reference controlRefs replaces.
func hasControlRef[T string | []byte](p T) bool {
	s := string(p) // not copied for a []byte: the conversion does not escape
	for {
		i := strings.Index(s, refStart)
		if i < 0 || i+refLen > len(s) {
			return false
		}
		if (s[i+3] == '1' || s[i+3] == '3') && s[i+4] == ';' {
			return true
		}
		s = s[i+len(refStart):]
	}
}

func (f *controlFilter) Write(p []byte) (int, error) {
	if f.pending != "" || heldTail(p) > 0 || hasControlRef(p) {
		return f.WriteString(string(p))
	}
	filterControls(f, p)
	return len(p), f.err
}

func (f *controlFilter) WriteString(s string) (int, error) {
	n := len(s)
	if f.pending != "" {
		s, f.pending = f.pending+s, ""
	}
	if hasControlRef(s) {
		s = controlRefs.Replace(s)
	}
	if k := heldTail(s); k > 0 {
		s, f.pending = s[:len(s)-k], s[len(s)-k:]
	}
	filterControls(f, s)
	return n, f.err
}

// heldTail returns how many bytes at the end of p may start a C1
// character or a reference controlRefs replaces, to be held until the
// next write.
func heldTail[T string | []byte](p T) int {
	if len(p) == 0 {
		return 0
	}
	switch p[len(p)-1] {
	case 0xc2:
		return 1
	case '&', '#', '1', '3':
		for k := min(refLen-1, len(p)); k > 0; k-- {
			tail := string(p[len(p)-k:])
			if k <= len(refStart) && tail == refStart[:k] || k == len(refStart)+1 && (tail == refStart+"1" || tail == refStart+"3") {
				return k
			}
		}
	}
	return 0
}

// Close writes what the last write held back; it does not close w.
func (f *controlFilter) Close() error {
	if f.pending != "" {
		s := f.pending
		f.pending = ""
		filterControls(f, s)
	}
	return f.err
}

func (f *controlFilter) put(s string) {
	if f.err == nil && s != "" {
		_, f.err = io.WriteString(f.w, s)
	}
}

func (f *controlFilter) putBytes(p []byte) {
	if f.err == nil && len(p) > 0 {
		_, f.err = f.w.Write(p)
	}
}

// filterControls writes p to f with forbidden control characters
// replaced. Eight bytes at a time are passed over when none is below
// 0x20 nor above 0x7E; the others are looked at one by one.
func filterControls[T string | []byte](f *controlFilter, p T) {
	var b []byte // p, not copied
	switch p := any(p).(type) {
	case string:
		b = unsafe.Slice(unsafe.StringData(p), len(p))
	case []byte:
		b = p
	}
	const lo, hi, one = 0x2020202020202020, 0x8080808080808080, 0x0101010101010101
	i, start := 0, 0
	for i < len(b) {
		if i+8 <= len(b) {
			// A byte below 0x20 or from 0x7F up sets its high bit in
			// (x - 0x20…) | (x + 0x01…) | x.
			x := binary.LittleEndian.Uint64(b[i:])
			if ((x-lo)|(x+one)|x)&hi == 0 {
				i += 8
				continue
			}
		}
		c := b[i]
		switch {
		case c >= 0x20 && c < 0x7f, c == '\t', c == '\n', c == '\f', c == '\r':
			i++
		case c == 0xc2:
			if i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f {
				f.putBytes(b[start:i])
				f.put(replacement)
				i += 2
				start = i
				continue
			}
			i++ // the next byte is looked at on its own
		case c <= 0x7f: // C0 or DEL
			f.putBytes(b[start:i])
			f.put(replacement)
			i++
			start = i
		default: // a byte of another character
			i++
		}
	}
	f.putBytes(b[start:])
}
