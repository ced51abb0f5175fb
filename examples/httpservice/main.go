// Command httpservice is an HTTP service that imports rightsize for its side
// effect: GOMAXPROCS and GOMEMLIMIT fit its container at start and follow
// in-place resizes. GET /debug/rightsize reports, from rightsize.Result,
// the decisions in force (value, previous value, source, reason), the
// watcher's changes since start and the snapshot the decisions were made
// from, as JSON.
//
//	go run ./examples/httpservice -addr localhost:8080
//	curl -s localhost:8080/debug/rightsize
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"runtime"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// decision is runtimeinfo.Decision as JSON; the JSON names are the
// program's own (runtimeinfo's types carry none). Values are integers:
// GOMAXPROCS, or GOMEMLIMIT in bytes with null for no limit.
type decision struct {
	Setting  string    `json:"setting"`
	Value    *int64    `json:"value"`
	Previous *int64    `json:"previous"`
	Want     *int64    `json:"want"` // what the policy computes; null when nothing
	Changed  bool      `json:"changed"`
	Source   string    `json:"source"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

func decisionOf(d runtimeinfo.Decision) decision {
	value := func(n int64) *int64 {
		if d.Setting == runtimeinfo.GOMEMLIMIT && n == math.MaxInt64 {
			return nil
		}
		return &n
	}
	out := decision{
		Setting: string(d.Setting), Value: value(d.Value), Previous: value(d.Previous),
		Changed: d.Changed, Source: d.Source.String(), Reason: d.Reason, At: d.At,
	}
	if d.HasWant {
		out.Want = &d.Want
	}
	return out
}

func debugRightsize(w http.ResponseWriter, r *http.Request) {
	res, changes, ok := rightsize.Result()
	out := struct {
		// Active is false when the blank import did nothing
		// (RIGHTSIZE=off, or not Linux).
		Active     bool                     `json:"active"`
		GOMAXPROCS int                      `json:"gomaxprocs"`
		Decisions  []decision               `json:"decisions"`
		Changes    []decision               `json:"changes"`
		Snapshot   rightsizeexpvar.Snapshot `json:"snapshot"`
	}{
		Active:     ok,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Decisions:  []decision{},
		Changes:    []decision{},
		Snapshot:   rightsizeexpvar.SnapshotOf(&res.Snapshot),
	}
	if ok {
		out.Decisions = append(out.Decisions, decisionOf(res.GOMAXPROCS), decisionOf(res.GOMEMLIMIT))
	}
	for _, d := range changes {
		out.Changes = append(out.Changes, decisionOf(d))
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func main() {
	addr := flag.String("addr", "localhost:8080", "listen address")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/rightsize", debugRightsize)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	})
	log.Printf("listening on %s; see /debug/rightsize", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
