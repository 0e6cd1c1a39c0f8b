package bake

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"
)

// ManifestVersion is the version of the manifest format written by this package.
const ManifestVersion = 1

// Entry is what the manifest knows of one file of a build.
type Entry struct {
	Path     string    `json:"path"`               // URL path (see [FileName] for the file)
	SHA256   string    `json:"sha256"`             // hex SHA-256 of the bytes
	Size     int64     `json:"size"`               // length in bytes
	Type     string    `json:"type"`               // content type
	Route    string    `json:"route,omitempty"`    // route that made it
	Key      string    `json:"key,omitempty"`      // row key, for one-row pages
	LastMod  time.Time `json:"lastmod,omitzero"`   // content date, if known
	Redirect string    `json:"redirect,omitempty"` // redirect target, for redirect pages
	// Encodings lists the content codings ("br", "gzip") of the
	// precompressed siblings written beside the file (name.br, name.gz),
	// sorted; none when precompression is off or saved nothing.
	Encodings []string `json:"enc,omitempty"`
	Deps      []Dep    `json:"deps,omitempty"`  // what the page read, sorted
	Digest    string   `json:"input,omitempty"` // hash of what the page read ([Page.Digest])
	// Rows, for a page listing rows, says where each row's bytes are in
	// the file ([Page.Rows]).
	Rows *RowSpans `json:"rows,omitempty"`
}

// RowSpans says where the rows a list page shows are in its bytes, for an
// update that makes the page again from the bytes of the last build
// instead of rendering it: the rows' bytes are contiguous, from byte At of
// the file, Lens[i] bytes for the row of Keys[i], in the order shown. The
// bytes before and after them depend on nothing of the rows.
type RowSpans struct {
	At   int      `json:"at"`
	Lens []int    `json:"lens"`
	Keys []string `json:"keys"`
}

// Len returns the number of bytes of the rows.
func (s *RowSpans) Len() int {
	n := 0
	for _, l := range s.Lens {
		n += l
	}
	return n
}

// Manifest maps every path of a build to its [Entry], sorted by path.
type Manifest struct {
	Entries []Entry
}

// Lookup returns the entry for path.
func (m *Manifest) Lookup(path string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(m.Entries, path, func(e Entry, p string) int {
		return strings.Compare(e.Path, p)
	})
	if !ok {
		return Entry{}, false
	}
	return m.Entries[i], true
}

// Sort orders the entries by path.
func (m *Manifest) Sort() {
	slices.SortFunc(m.Entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}

type manifestHeader struct {
	Version int `json:"bake_manifest"`
}

// ManifestWriter writes a manifest as JSON lines: a header line, then one
// entry a line. Entries must be written sorted by path.
type ManifestWriter struct {
	w    *bufio.Writer
	enc  *json.Encoder
	last string
	n    int
}

// NewManifestWriter starts a manifest on w.
func NewManifestWriter(w io.Writer) (*ManifestWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(manifestHeader{Version: ManifestVersion}); err != nil {
		return nil, fmt.Errorf("write manifest header: %w", err)
	}
	return &ManifestWriter{w: bw, enc: enc}, nil
}

// Write appends one entry.
func (mw *ManifestWriter) Write(e *Entry) error {
	if mw.n > 0 && e.Path <= mw.last {
		return fmt.Errorf("write manifest: entry %q after %q: not sorted", e.Path, mw.last)
	}
	mw.last, mw.n = e.Path, mw.n+1
	if err := mw.enc.Encode(e); err != nil {
		return fmt.Errorf("write manifest entry %q: %w", e.Path, err)
	}
	return nil
}

// Close flushes the manifest; it does not close the underlying writer.
func (mw *ManifestWriter) Close() error {
	if err := mw.w.Flush(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// WriteManifest writes m to w.
func WriteManifest(w io.Writer, m *Manifest) error {
	mw, err := NewManifestWriter(w)
	if err != nil {
		return err
	}
	for i := range m.Entries {
		if err := mw.Write(&m.Entries[i]); err != nil {
			return err
		}
	}
	return mw.Close()
}

// ManifestEntries streams the entries of a manifest written by [ManifestWriter].
// It yields one error and stops at the first malformed line.
func ManifestEntries(r io.Reader) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			b := sc.Bytes()
			if line == 1 {
				var h manifestHeader
				if err := json.Unmarshal(b, &h); err != nil || h.Version == 0 {
					yield(Entry{}, errors.New("read manifest: line 1: not a bake manifest header"))
					return
				}
				if h.Version > ManifestVersion {
					yield(Entry{}, fmt.Errorf("read manifest: version %d is newer than this bake (%d): upgrade bake", h.Version, ManifestVersion))
					return
				}
				continue
			}
			var e Entry
			if err := json.Unmarshal(b, &e); err != nil {
				yield(Entry{}, fmt.Errorf("read manifest: line %d: %w", line, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("read manifest: %w", err))
		}
	}
}

// ReadManifest reads a whole manifest into memory.
func ReadManifest(r io.Reader) (*Manifest, error) {
	m := &Manifest{}
	for e, err := range ManifestEntries(r) {
		if err != nil {
			return nil, err
		}
		m.Entries = append(m.Entries, e)
	}
	m.Sort()
	return m, nil
}
