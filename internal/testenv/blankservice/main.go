// Command blankservice is the smallest service with rightsize's blank
// import, for the real-container and qemu tests: it prints, as one JSON
// line, the GOMAXPROCS and GOMEMLIMIT in force after init and rightsize's
// decisions. With -for D it keeps running for D and prints a line for
// every change the watcher makes, so a test can resize its cgroup.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/runtimeinfo"
)

type report struct {
	GOMAXPROCS int                    `json:"gomaxprocs"`
	GOMEMLIMIT int64                  `json:"gomemlimit"`
	NumCPU     int                    `json:"numcpu"`
	Result     *runtimeinfo.Result    `json:"result,omitempty"`
	Changes    []runtimeinfo.Decision `json:"changes,omitempty"`
}

func snapshot() report {
	r := report{GOMAXPROCS: runtime.GOMAXPROCS(0), GOMEMLIMIT: debug.SetMemoryLimit(-1), NumCPU: runtime.NumCPU()}
	if res, changes, ok := rightsize.Result(); ok {
		r.Result, r.Changes = &res, changes
	}
	return r
}

func main() {
	run := flag.Duration("for", 0, "keep running this long, printing a line per change")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	last := snapshot()
	enc.Encode(last)
	deadline := time.Now().Add(*run)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		now := snapshot()
		if now.GOMAXPROCS != last.GOMAXPROCS || now.GOMEMLIMIT != last.GOMEMLIMIT {
			enc.Encode(now)
			last = now
		}
	}
}
