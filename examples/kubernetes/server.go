package main

import (
	"expvar"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
)

// server holds the handlers' state; tests build it with a fixture root.
type server struct {
	reg   *prometheus.Registry
	rs    *rsprom.Collector // nil when the collector could not start
	ready atomic.Bool
}

// newServer registers the Go, process and rightsize collectors. The error
// says why rightsize's metrics are missing; the server works without them.
func newServer(opts ...rsprom.Option) (*server, error) {
	s := &server{reg: prometheus.NewRegistry()}
	s.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	s.ready.Store(true)
	c, err := rsprom.NewCollector(opts...)
	if err != nil {
		return s, err
	}
	s.rs = c
	s.reg.MustRegister(c)
	return s, nil
}

func (s *server) close() {
	if s.rs != nil {
		s.rs.Close()
	}
}

// Probe and scrape paths; deployment.yaml must use these (its test checks).
const (
	pathLiveness  = "/healthz"
	pathReadiness = "/readyz"
	pathMetrics   = "/metrics"
	pathVars      = "/debug/vars"
)

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+pathMetrics, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.Handle("GET "+pathVars, expvar.Handler())
	// Liveness asks only "does this process still serve HTTP": it checks
	// no dependency, so a slow database never gets healthy pods killed.
	mux.HandleFunc("GET "+pathLiveness, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+pathReadiness, func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /spin", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 || ms > 10_000 {
			http.Error(w, "ms: 0..10000", http.StatusBadRequest)
			return
		}
		end := time.Now().Add(time.Duration(ms) * time.Millisecond)
		n := 0
		for time.Now().Before(end) {
			n++
		}
		fmt.Fprintf(w, "spun %d ms (%d iterations)\n", ms, n)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	})
	return mux
}
