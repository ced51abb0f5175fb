package otel_test

import (
	"context"
	"log"
	"log/slog"
	"os"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	rsotel "github.com/rightsize/rightsize/contrib/otel"
)

// A program that also runs go.opentelemetry.io/contrib/instrumentation/runtime
// gets go.processor.limit and go.memory.limit from it; WithoutGoMetrics
// leaves them out here so that each name has one source.
func ExampleWithoutGoMetrics() {
	mp := sdkmetric.NewMeterProvider() // the program's provider, with its readers
	defer mp.Shutdown(context.Background())

	// runtime.Start(runtime.WithMeterProvider(mp))
	reg, err := rsotel.Register(mp, rsotel.WithoutGoMetrics())
	if err != nil {
		log.Print(err)
		return
	}
	defer reg.Unregister()
}

// Read failures are logged once per distinct failure (and the recovery
// once); send them to the service's own logger, or pass nil to silence
// them. rightsize.read_errors counts them either way.
func ExampleWithLogger() {
	mp := sdkmetric.NewMeterProvider()
	defer mp.Shutdown(context.Background())

	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "metrics")
	reg, err := rsotel.Register(mp, rsotel.WithLogger(logger))
	if err != nil {
		log.Print(err)
		return
	}
	defer reg.Unregister()
}
