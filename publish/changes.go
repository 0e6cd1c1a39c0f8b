package publish

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/bakehq/bake"
)

// Changes is a list of uploads, in the order they were planned. The first
// few thousand are kept in memory, the rest in a temporary file, so that
// the plan of a first publish of a million files takes megabytes of
// memory, not the gigabyte its entries would.
type Changes struct {
	spillAt int // uploads kept in memory (DiffOptions.KeepUploads)
	n       int
	mem     []Change
	spill   *os.File
	w       *bufio.Writer
	end     int64 // bytes written to spill
}

// spilled is a change as the temporary file keeps it.
type spilled struct {
	Key      string   `json:"k"`
	Path     string   `json:"p"`
	SHA256   string   `json:"h"`
	Size     int64    `json:"n"`
	Type     string   `json:"t"`
	Redirect string   `json:"r,omitempty"`
	Reason   string   `json:"w"`
	Enc      []string `json:"e,omitempty"`
	Had      []string `json:"x,omitempty"`
}

// Len returns the number of changes.
func (c *Changes) Len() int { return c.n }

func (c *Changes) add(ch Change) error {
	c.n++
	if c.spillAt == 0 || len(c.mem) < c.spillAt {
		c.mem = append(c.mem, ch)
		return nil
	}
	if c.spill == nil {
		f, err := os.CreateTemp("", "bake-plan-*")
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		os.Remove(f.Name()) // where the system allows it: gone when closed, or when bake exits
		c.spill, c.w = f, bufio.NewWriterSize(f, 256<<10)
	}
	b, err := json.Marshal(spilled{Key: ch.Key, Path: ch.Entry.Path, SHA256: ch.Entry.SHA256, Size: ch.Entry.Size,
		Type: ch.Entry.Type, Redirect: ch.Entry.Redirect, Reason: ch.Reason, Enc: ch.Entry.Encodings, Had: ch.Had})
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	b = append(b, '\n')
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	c.end += int64(len(b))
	return nil
}

// All yields the changes in order.
func (c *Changes) All() iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		for _, ch := range c.mem {
			if !yield(ch, nil) {
				return
			}
		}
		if c.spill == nil {
			return
		}
		if err := c.w.Flush(); err != nil {
			yield(Change{}, fmt.Errorf("plan: %w", err))
			return
		}
		sc := bufio.NewScanner(io.NewSectionReader(c.spill, 0, c.end))
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			var s spilled
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				yield(Change{}, fmt.Errorf("plan: read back: %w", err))
				return
			}
			ch := Change{Key: s.Key, Reason: s.Reason, Had: s.Had,
				Entry: bake.Entry{Path: s.Path, SHA256: s.SHA256, Size: s.Size, Type: s.Type, Redirect: s.Redirect, Encodings: s.Enc}}
			if !yield(ch, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Change{}, fmt.Errorf("plan: read back: %w", err))
		}
	}
}

// MarshalJSON returns the changes as a JSON array.
func (c *Changes) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSONList(&b, c.All()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeJSONList writes changes to w as a JSON array, one element a line.
func writeJSONList(w io.Writer, changes iter.Seq2[Change, error]) error {
	bw := bufio.NewWriter(w)
	bw.WriteByte('[')
	i := 0
	for ch, err := range changes {
		if err != nil {
			return err
		}
		if i++; i > 1 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		j, err := json.Marshal(ch)
		if err != nil {
			return err
		}
		bw.Write(j)
	}
	if i > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteByte(']')
	return bw.Flush()
}

// WriteJSON writes the plan to w as JSON, as json.Marshal would but a
// change at a time: the plan of a million uploads is not held in memory
// as text.
func (p *Plan) WriteJSON(w io.Writer) error {
	lists := []struct {
		name string
		seq  iter.Seq2[Change, error]
	}{{"assets", p.Assets.All()}, {"pages", p.Pages.All()}, {"deletes", all(p.Deletes)}}
	io.WriteString(w, "{")
	for _, l := range lists {
		fmt.Fprintf(w, "\n  %q: ", l.name)
		if err := writeJSONList(w, l.seq); err != nil {
			return err
		}
		io.WriteString(w, ",")
	}
	_, err := fmt.Fprintf(w, "\n  \"unchanged\": %d,\n  \"bytes\": %d\n}", p.Unchanged, p.Bytes)
	return err
}

// close releases the temporary file.
func (c *Changes) close() error {
	if c.spill == nil {
		return nil
	}
	name := c.spill.Name()
	err := c.spill.Close()
	os.Remove(name) // where it could not be removed while open
	c.spill, c.w = nil, nil
	return err
}

// ListOf returns a list of the changes cs.
func ListOf(cs ...Change) Changes { return Changes{n: len(cs), mem: cs} }

// all yields the elements of a slice, with no error: a slice where a
// stream that may fail is expected.
func all[T any](xs []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}
