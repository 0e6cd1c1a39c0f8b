package bake

import "context"

type previousKey struct{}

// WithPrevious returns a context carrying the index of the build that a
// full build replaces, so that the site can keep what must not change from
// one build to the next (the page boundaries of a stable list, see
// docs/incremental.md) and an incremental build and a full one agree.
func WithPrevious(ctx context.Context, prev Index) context.Context {
	return context.WithValue(ctx, previousKey{}, prev)
}

// PreviousFrom returns the index of the previous build in ctx, or nil.
func PreviousFrom(ctx context.Context) Index {
	x, _ := ctx.Value(previousKey{}).(Index)
	return x
}
