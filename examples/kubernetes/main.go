// Command kubernetes is the service of the Kubernetes example: an HTTP
// server that imports rightsize for its side effect (GOMAXPROCS and
// GOMEMLIMIT fit the pod's limits and follow in-place resizes) and exports
// what rightsize sees:
//
//	/metrics      Prometheus: the rightsize collector, Go runtime and process metrics
//	/debug/vars   expvar: the rightsize snapshot as JSON, with its sources
//	/healthz      liveness: 200 while the process serves HTTP
//	/readyz       readiness: 200 until SIGTERM, then 503 while draining
//	/spin?ms=N    burns N ms of CPU, to watch throttling rise under load
//	/             a greeting with the GOMAXPROCS in force
//
// deployment.yaml runs it with CPU and memory requests and limits, the
// Downward API variables rightsize reads, and HTTP probes; see README.md.
//
//	go run . -addr :8080
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/rightsize/rightsize" // tunes GOMAXPROCS and GOMEMLIMIT at start, then watches

	"github.com/rightsize/rightsize/rightsizeexpvar"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	drain := flag.Duration("drain", 5*time.Second, "after SIGTERM, how long /readyz reports 503 before the server shuts down (endpoints catch up meanwhile)")
	flag.Parse()

	if err := rightsizeexpvar.Publish(rightsizeexpvar.DefaultName); err != nil {
		slog.Warn("expvar", "err", err)
	}
	s, err := newServer()
	if err != nil {
		// Metrics without rightsize's are still worth serving.
		slog.Warn("rightsize metrics unavailable", "err", err)
	}
	defer s.close()

	srv := &http.Server{Addr: *addr, Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("listening", "addr", *addr)

	select {
	case err := <-errc:
		slog.Error("serve", "err", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	// Fail readiness first so that the endpoints controller takes the pod
	// out of the Service before connections are refused.
	s.ready.Store(false)
	slog.Info("SIGTERM: draining", "for", *drain)
	time.Sleep(*drain)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("shutdown", "err", err)
	}
}
