package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// A folder target (gocloud.dev/blob/fileblob) is not an object store: a
// write is a temporary file beside the object, renamed into place, and its
// headers and metadata go to a sidecar file, <key>.attrs, written (not
// atomically) before the rename. A publish killed at the wrong moment
// leaves the old bytes under a sidecar that describes the new ones, an
// empty sidecar, or a temporary file. So, on a folder, bake never trusts
// the sha256 of a sidecar without hashing the bytes (a resumed publish,
// Listed, --verify), treats a record of its own that cannot be read as
// missing (the publish then compares with what the folder holds), and a
// publish after an interrupted one removes the temporary files bake's
// writes left. On S3 and the like, a PUT is atomic with its metadata,
// which is trusted.

// isFolder reports whether bucket is a folder on this machine: fileblob
// answers As with the folder's os.FileInfo.
func isFolder(bucket *blob.Bucket) bool {
	var fi os.FileInfo
	return bucket.As(&fi)
}

// brokenSidecar reports whether err is a folder target failing to decode
// an object's .attrs sidecar: a publish killed while writing it leaves it
// empty, and the object cannot be read through the bucket until it is
// written again.
func brokenSidecar(err error) bool {
	var syntax *json.SyntaxError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syntax)
}

// unreadable reports whether err, from reading key of bucket, means that an
// interrupted write left the object unreadable (see brokenSidecar); only a
// folder target does that.
func unreadable(bucket *blob.Bucket, err error) bool {
	return err != nil && brokenSidecar(err) && isFolder(bucket)
}

// tempName matches the temporary files of fileblob's writes:
// <key>.<creation time in Unix nanoseconds, hex>.tmp, beside the object.
var tempName = regexp.MustCompile(`^(.+)\.([0-9a-f]{1,16})\.tmp$`)

// tempsSince is the earliest creation time of a name taken as a temporary
// file: a shorter hex number is a name that only looks like one.
var tempsSince = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// tempKey returns the key a temporary file of fileblob named name was
// written for, and when it was made, when name is one.
func tempKey(name string) (key string, made time.Time, ok bool) {
	m := tempName.FindStringSubmatch(name)
	if m == nil {
		return "", time.Time{}, false
	}
	ns, err := strconv.ParseInt(m[2], 16, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	made = time.Unix(0, ns)
	return m[1], made, made.After(tempsSince)
}

// folderPage is how many objects a page of a folder's listing holds:
// fileblob walks the whole folder again for each page (in order, up to
// the page), so a listing in pages of 1,000 would take time quadratic in
// the number of files.
const folderPage = 1 << 16

// listAll yields the objects of bucket that opts select, in key order.
func listAll(ctx context.Context, bucket *blob.Bucket, opts *blob.ListOptions) iter.Seq2[*blob.ListObject, error] {
	return func(yield func(*blob.ListObject, error) bool) {
		size := 1000
		if isFolder(bucket) {
			size = folderPage
		}
		token := blob.FirstPageToken
		for {
			objs, next, err := bucket.ListPage(ctx, token, size, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, obj := range objs {
				if !yield(obj, nil) {
					return
				}
			}
			if len(next) == 0 {
				return
			}
			token = next
		}
	}
}

// listSite lists the objects of bucket but those under bake's folder
// (.bake/: staged files, manifest parts, releases), which it does not
// enter: the top level with a delimiter, then each folder but that one.
// A distributed build stages every file there (1,000,000 at 1,000,000
// items), and listing them all to skip them, a page after another, took
// an S3 server that walks its folders for each page (versitygw) 29 minutes
// before the build's first publish.
func listSite(ctx context.Context, bucket *blob.Bucket) iter.Seq2[*blob.ListObject, error] {
	return func(yield func(*blob.ListObject, error) bool) {
		for obj, err := range listAll(ctx, bucket, &blob.ListOptions{Delimiter: "/"}) {
			if err != nil {
				yield(nil, err)
				return
			}
			if !obj.IsDir {
				if !yield(obj, nil) {
					return
				}
				continue
			}
			if obj.Key == bake.ReservedDir+"/" {
				continue
			}
			for o, err := range listAll(ctx, bucket, &blob.ListOptions{Prefix: obj.Key}) {
				if !yield(o, err) || err != nil {
					return
				}
			}
		}
	}
}

// hashObject returns the SHA-256 of the bytes of key, hex.
func hashObject(ctx context.Context, bucket *blob.Bucket, key string) (string, error) {
	// ReadAll, not io.Copy: blob.Reader's WriteTo allocates a buffer far
	// larger than most pages.
	data, err := bucket.ReadAll(ctx, key)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// leftTemps reports whether a publish to the folder bucket was interrupted
// while it wrote PublishingKey: the one write of a publish that comes
// before the key says it runs.
func leftTemps(ctx context.Context, bucket *blob.Bucket) (bool, error) {
	for obj, err := range listAll(ctx, bucket, &blob.ListOptions{Prefix: PublishingKey + "."}) {
		if err != nil {
			return false, err
		}
		if k, _, ok := tempKey(obj.Key); ok && k == PublishingKey {
			return true, nil
		}
	}
	return false, nil
}

// removeTemps deletes from the folder bucket the temporary files that
// interrupted writes of bake left: files named as fileblob names them,
// made before start, for a key bake publishes (one of root, one of
// deletes, or one of its own records). A file of any other name, or for a
// key bake does not publish, is left alone. It returns how many it
// removed.
func removeTemps(ctx context.Context, bucket *blob.Bucket, root *Root, deletes []Change, start time.Time) (int, error) {
	temps := map[string][]string{} // key → its temporary files
	for obj, err := range listAll(ctx, bucket, nil) {
		if err != nil {
			return 0, fmt.Errorf("list temporary files: %w", err)
		}
		if key, made, ok := tempKey(obj.Key); ok && made.Before(start) && !obj.IsDir {
			temps[key] = append(temps[key], obj.Key)
		}
	}
	if len(temps) == 0 {
		return 0, nil
	}
	ours := map[string]bool{}
	for _, c := range deletes {
		ours[c.Key] = true
	}
	look := map[int]map[string]string{} // part → path → key, of the keys to look up in root
	for key := range temps {
		if ours[key] || strings.HasPrefix(key, bake.ReservedDir+"/") {
			ours[key] = true
			continue
		}
		p := bake.PathOf(key)
		if k, err := bake.FileName(p); err != nil || k != key {
			continue // not a key bake could have written
		}
		b := pubformat.Bucket(p)
		for i, part := range root.Parts {
			if b >= part.First && b <= part.Last && part.Files > 0 {
				if look[i] == nil {
					look[i] = map[string]string{}
				}
				look[i][p] = key
			}
		}
	}
	for i, paths := range look {
		for l, err := range partLines(ctx, bucket, root.Parts[i]) {
			if err != nil {
				return 0, fmt.Errorf("find the keys of temporary files: %w", err)
			}
			if key, ok := paths[l.path]; ok {
				ours[key] = true
			}
		}
	}
	n := 0
	for key, names := range temps {
		if !ours[key] {
			continue
		}
		for _, name := range names {
			if err := bucket.Delete(ctx, name); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return n, fmt.Errorf("remove temporary file %s: %w", name, err)
			}
			n++
		}
	}
	return n, nil
}
