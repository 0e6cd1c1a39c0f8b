//go:build !unix

package output

type lockFile struct{}

func acquire(parent, final string) (*lockFile, error) { return &lockFile{}, nil }

func (l *lockFile) release() {}
