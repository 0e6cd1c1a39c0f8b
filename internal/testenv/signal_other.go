//go:build !unix

package testenv

import "os"

// quitSignal stops nginx; where there are no Unix signals, at once.
var quitSignal = os.Kill
