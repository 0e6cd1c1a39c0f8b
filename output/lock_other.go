//go:build !unix

package output

type lockFile struct{}

func acquire(path string) (*lockFile, error) { return &lockFile{}, nil }

func (l *lockFile) release() {}
