// Package publish puts a build on object storage (any gocloud.dev/blob
// bucket: a folder, S3 and S3-compatible servers) by the difference between
// the build's manifest and the one stored in the bucket at the last publish.
//
// [Diff] is pure: it compares two manifests and returns a [Plan] of
// uploads, with the reason for each, and deletes. [Apply] carries a plan
// out in the order that keeps the live site consistent at every moment:
// new and changed assets first, then pages, then the new remote manifest,
// then deletes (only of keys bake itself published, and at most
// MaxDeletes unless forced).
//
// The manifest a publish stores in the bucket is a [Root]: a list of
// parts, each holding the entries of a range of path buckets and named by
// the digests of those buckets, which the build's index keeps
// ([output.Index.Buckets]; the first publish after a full build computes
// them). [Prepare] compares part names and diffs only
// the parts that differ, so a publish of a few changed pages reads and
// writes a few small parts whatever the size of the site; a plan keeps
// its first uploads in memory and the rest in a temporary file
// ([Changes]).
//
// A folder target (fileblob) is not atomic the way an object store is: a
// write is a temporary file renamed into place, its headers a sidecar
// file written before the rename. On a folder, a publish never takes the
// SHA-256 of a sidecar on trust (a resumed publish and [Listed] hash the
// bytes), reads a record of its own that a killed write left unreadable
// as missing, and, after an interrupted publish, removes the temporary
// files that publish's writes left (see [Apply]).
package publish
