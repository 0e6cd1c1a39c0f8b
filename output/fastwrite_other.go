//go:build !linux

package output

import "os"

type fastWriter struct{}

func newFastWriter(dir string) *fastWriter { return nil }

func (w *fastWriter) write(name string, data []byte) (bool, error) { return false, nil }

func (w *fastWriter) writeIn(dir, leaf string, data []byte) (bool, error) { return false, nil }

func (w *fastWriter) rename(from, to string) (bool, error) { return false, nil }

func (w *fastWriter) close() {}

func openBeneath(dir *os.File, name string) (*os.File, bool, error) { return nil, false, nil }
