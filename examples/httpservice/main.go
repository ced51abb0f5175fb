// Command httpservice is an HTTP service that imports rightsize for its side
// effect: GOMAXPROCS and GOMEMLIMIT fit its container at start and follow
// in-place resizes. GET /debug/rightsize reports the decisions (value,
// previous value, source file, reason), the watcher's changes since start
// and a fresh snapshot of the limits, as JSON.
//
//	go run ./examples/httpservice -addr :8080
//	curl -s localhost:8080/debug/rightsize
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/runtimeinfo"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "listen address")
	flag.Parse()

	http.HandleFunc("/debug/rightsize", func(w http.ResponseWriter, r *http.Request) {
		res, changes, ok := rightsize.Result()
		snap, err := runtimeinfo.Read()
		out := struct {
			Active     bool                   `json:"active"`
			GOMAXPROCS int                    `json:"gomaxprocs"`
			GOMEMLIMIT int64                  `json:"gomemlimit"`
			Decisions  []runtimeinfo.Decision `json:"decisions"`
			Changes    []runtimeinfo.Decision `json:"changes"`
			Snapshot   runtimeinfo.Snapshot   `json:"snapshot"`
			Error      string                 `json:"error,omitempty"`
		}{
			Active:     ok,
			GOMAXPROCS: runtime.GOMAXPROCS(0),
			GOMEMLIMIT: debug.SetMemoryLimit(-1),
			Decisions:  []runtimeinfo.Decision{res.GOMAXPROCS, res.GOMEMLIMIT},
			Changes:    changes,
			Snapshot:   snap,
		}
		if err != nil {
			out.Error = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	})
	log.Printf("listening on %s; see /debug/rightsize", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
