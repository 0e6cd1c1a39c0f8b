package asset

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/bakehq/bake"
)

// HashLen is the number of hex digits of the content hash in a
// fingerprinted name: 8, which publish recognises as a fingerprint
// (publish.DefaultCacheControl: a year, immutable).
const HashLen = 8

// FingerprintName returns the fingerprinted name of a file: the first
// HashLen hex digits of hash before its extension, css/app.css →
// css/app.3f2a1c9b.css. A name without an extension gets the hash at its
// end (LICENSE → LICENSE.3f2a1c9b).
func FingerprintName(name, hash string) string {
	if len(hash) > HashLen {
		hash = hash[:HashLen]
	}
	dir, base := path.Split(name)
	ext := path.Ext(base)
	if ext == base { // .htaccess-like: no stem
		ext = ""
	}
	return dir + strings.TrimSuffix(base, ext) + "." + hash + ext
}

// CheckName reports whether name can be an asset's logical name: a
// slash-separated path relative to the static folders that maps to a file
// inside the build folder (see [bake.FileName]) and names a file, not a
// folder.
func CheckName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return fmt.Errorf("%q must be a file name relative to the static folders, without a leading or trailing /", name)
	}
	if _, err := bake.FileName("/" + name); err != nil {
		return err
	}
	return nil
}

// relURL returns the URL of the file at path to, relative to a file at
// path from (both absolute URL paths): /css/app.css, /img/x.png →
// ../img/x.png.
func relURL(from, to string) string {
	fd := strings.Split(path.Dir(from), "/")[1:]
	if path.Dir(from) == "/" {
		fd = nil
	}
	td := strings.Split(to, "/")[1:]
	i := 0
	for i < len(fd) && i < len(td)-1 && fd[i] == td[i] {
		i++
	}
	var b strings.Builder
	for range len(fd) - i {
		b.WriteString("../")
	}
	b.WriteString(strings.Join(td[i:], "/"))
	return b.String()
}

// resolveName returns the logical name that spec names from a file
// named importer: relative to its folder, or to the static folders' root
// with a leading slash. A name that leaves the static folders is an error.
func resolveName(importer, spec string) (string, error) {
	var p string
	if strings.HasPrefix(spec, "/") {
		p = path.Clean(spec)
	} else {
		p = path.Clean("/" + path.Join(path.Dir(importer), spec))
		if strings.HasPrefix(path.Join(path.Dir(importer), spec), "..") {
			return "", fmt.Errorf("%q is outside the static folders", spec)
		}
	}
	name := strings.TrimPrefix(p, "/")
	if err := CheckName(name); err != nil {
		return "", err
	}
	return name, nil
}
