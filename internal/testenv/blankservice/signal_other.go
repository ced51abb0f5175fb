//go:build !unix

package main

import "os"

// No SIGUSR1 outside Unix: reports are printed at start and on changes
// only.
var requestSignals []os.Signal

var stopSignals = []os.Signal{os.Interrupt}
