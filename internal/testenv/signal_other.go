//go:build !unix

package testenv

import "os"

// quitSignal stops nginx; where there are no Unix signals, at once.
var quitSignal = os.Kill

// stopSignal stops a server started by StartProcess; at once here.
var stopSignal = os.Kill
