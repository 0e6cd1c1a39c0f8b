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
package publish
