//go:build unix

package main

import (
	"os"
	"syscall"
)

// requestSignals ask for a report.
var requestSignals = []os.Signal{syscall.SIGUSR1}

// stopSignals end -serve.
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
