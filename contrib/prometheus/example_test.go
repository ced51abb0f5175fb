package prometheus_test

import (
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
)

// A service registers the collector next to its own metrics and serves
// them; every scrape re-reads the container's limits, usage and throttling.
func ExampleNewCollector() {
	c, err := rsprom.NewCollector()
	if err != nil {
		log.Printf("rightsize metrics unavailable: %v", err)
		return
	}
	defer c.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// http.ListenAndServe(":8080", nil)
}

// Read failures are logged once per distinct failure (and the recovery
// once); send them to the service's own logger, or pass nil to silence
// them. rightsize_read_errors_total counts them either way.
func ExampleWithLogger() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "metrics")
	c, err := rsprom.NewCollector(rsprom.WithLogger(logger))
	if err != nil {
		log.Print(err)
		return
	}
	defer c.Close()
	prometheus.MustRegister(c)
}
