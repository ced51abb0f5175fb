// Command blankservice is the smallest service with rightsize's blank
// import, for the real-container and qemu tests: it prints, as one JSON
// line, the GOMAXPROCS and GOMEMLIMIT in force after init and rightsize's
// decisions. With -for D it keeps running for D and prints a line for
// every change the watcher makes, so a test can resize its cgroup.
//
// With -serve it runs until SIGTERM or SIGINT (it handles both, so that it
// also stops as a container's PID 1, which the kernel shields from signals
// without a handler) and exits 0. In every mode SIGUSR1 asks for a report:
// the service prints a line at once, which is how a test asks a running
// container what it has now (docker kill -s USR1, podman kill -s USR1).
//
// Each line says why it was printed ("event": "start", "change" or
// "request") and when the values were read ("time", RFC 3339 with
// nanoseconds), so that a test can measure how long the watcher took to
// follow a resize without counting the transport of the line.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/runtimeinfo"
)

type report struct {
	Event      string                 `json:"event"`
	Time       time.Time              `json:"time"`
	GOMAXPROCS int                    `json:"gomaxprocs"`
	GOMEMLIMIT int64                  `json:"gomemlimit"`
	NumCPU     int                    `json:"numcpu"`
	Result     *runtimeinfo.Result    `json:"result,omitempty"`
	Changes    []runtimeinfo.Decision `json:"changes,omitempty"`
}

func snapshot(event string) report {
	r := report{Event: event, Time: time.Now(), GOMAXPROCS: runtime.GOMAXPROCS(0), GOMEMLIMIT: debug.SetMemoryLimit(-1), NumCPU: runtime.NumCPU()}
	if res, changes, ok := rightsize.Result(); ok {
		r.Result, r.Changes = &res, changes
	}
	return r
}

func main() {
	run := flag.Duration("for", 0, "keep running this long, printing a line per change")
	serve := flag.Bool("serve", false, "keep running until SIGTERM or SIGINT, printing a line per change")
	flag.Parse()

	request := make(chan os.Signal, 1)
	if len(requestSignals) > 0 {
		signal.Notify(request, requestSignals...)
	}
	stop := make(chan os.Signal, 1)
	if *serve {
		signal.Notify(stop, stopSignals...)
	}

	enc := json.NewEncoder(os.Stdout)
	last := snapshot("start")
	enc.Encode(last)
	deadline := time.Now().Add(*run)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for *serve || time.Now().Before(deadline) {
		select {
		case <-stop:
			return
		case <-request:
			enc.Encode(snapshot("request"))
		case <-tick.C:
			now := snapshot("change")
			if now.GOMAXPROCS != last.GOMAXPROCS || now.GOMEMLIMIT != last.GOMEMLIMIT {
				enc.Encode(now)
				last = now
			}
		}
	}
}
