package bake

import "context"

// FragmentCache keeps rendered fragments of pages between builds, by key.
// A key names everything that made the fragment (key-based expiry): a
// fragment is never invalidated, a change makes a new key. The build passes
// one to the site in the context of Pages and Update ([WithFragmentCache]);
// its methods may be called from any goroutine.
type FragmentCache interface {
	// Get returns the fragment stored under key. The bytes are the cache's
	// own (they may be mapped from its file): the caller must not change
	// them, nor keep them past the build.
	Get(key string) ([]byte, bool)
	// Put stores a fragment; the cache may keep it only for this build.
	Put(key string, fragment []byte)
}

type fragmentKey struct{}

// WithFragmentCache returns a context carrying c.
func WithFragmentCache(ctx context.Context, c FragmentCache) context.Context {
	return context.WithValue(ctx, fragmentKey{}, c)
}

// FragmentCacheFrom returns the fragment cache in ctx, or nil.
func FragmentCacheFrom(ctx context.Context) FragmentCache {
	c, _ := ctx.Value(fragmentKey{}).(FragmentCache)
	return c
}
