package bake

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ReservedDir is the folder inside a build that holds bake's own files (the
// manifest). No page may be written there, and it is never served or published.
const ReservedDir = ".bake"

// WellKnownDir is the one folder whose name may start with a dot in a page
// path (RFC 8615: /.well-known/security.txt and the like).
const WellKnownDir = ".well-known"

// AttrsSuffix ends the names of the metadata files that a folder target
// keeps beside each object (gocloud's fileblob): no page may end in it.
const AttrsSuffix = ".attrs"

// FileName maps a page's URL path to the slash-separated file name inside the
// build folder, which is also its object key when published:
//
//	/                 index.html
//	/items/           items/index.html
//	/items/a-b/       items/a-b/index.html
//	/feed.xml         feed.xml
//	/café/            café/index.html (UTF-8 file name)
//
// It rejects any path that could name a file outside the build folder or that
// a file system cannot hold: empty, ".", ".." or over-long segments, NUL,
// backslashes, control characters, invalid UTF-8, and the reserved .bake folder.
// It also rejects what a static host must never be handed: a segment starting
// with "." (a dot-file such as .htaccess, which Apache reads as its own
// configuration; only a leading .well-known is allowed) and a name ending in
// ".attrs" (the metadata files of a folder target). Build, preview and
// publish all use this one function.
func FileName(path string) (string, error) {
	name, err := fileName(path)
	if err != nil {
		return "", fmt.Errorf("map path %q: %w", path, err)
	}
	return name, nil
}

func fileName(path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", errors.New("path must start with /")
	}
	if !utf8.ValidString(path) {
		return "", errors.New("path is not valid UTF-8")
	}
	rel := path[1:]
	if rel == "" || strings.HasSuffix(rel, "/") {
		rel += "index.html"
	}
	first := true
	for seg := range strings.SplitSeq(rel, "/") {
		switch {
		case seg == "":
			return "", errors.New("path has an empty segment (//)")
		case seg == "." || seg == "..":
			return "", fmt.Errorf("path has a %q segment", seg)
		case len(seg) > 255:
			return "", errors.New("path segment longer than 255 bytes")
		case first && (seg == ReservedDir):
			return "", fmt.Errorf("path is inside the reserved %s folder", ReservedDir)
		case seg[0] == '.' && !(first && seg == WellKnownDir):
			return "", fmt.Errorf("path has a segment starting with \".\" (%s): static hosts treat dot-files as private or as their own configuration (.htaccess), so bake neither builds, serves nor publishes them; only a leading %s folder may start with a dot", seg, WellKnownDir)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || r == '\\' {
				return "", fmt.Errorf("path has a forbidden character %q", r)
			}
		}
		first = false
	}
	if strings.HasSuffix(rel, AttrsSuffix) {
		return "", fmt.Errorf("path ends in %q, which folder targets reserve for their metadata files", AttrsSuffix)
	}
	return rel, nil
}

// PathOf is the inverse of [FileName]: it returns the URL path of a file in
// the build folder ("items/index.html" gives "/items/").
func PathOf(name string) string {
	if name == "index.html" {
		return "/"
	}
	if dir, ok := strings.CutSuffix(name, "/index.html"); ok {
		return "/" + dir + "/"
	}
	return "/" + name
}

// EscapePath percent-encodes a decoded URL path for use in a link: each
// segment is escaped, the slashes are kept ("/café/" gives "/caf%C3%A9/").
func EscapePath(path string) string {
	if !needsEscape(path) {
		return path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c <= ' ' || strings.IndexByte(`"#%<>?[\]^`+"`{|}", c) >= 0 {
			return true
		}
	}
	return false
}
