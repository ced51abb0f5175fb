module github.com/rightsize/rightsize/contrib/otel

go 1.22.0

// Local development builds against the library in this repository. Users of
// this module never see this replace: they get the version required below,
// which is a released one (see RELEASING.md).
replace github.com/rightsize/rightsize => ../..

require (
	github.com/rightsize/rightsize v1.0.0
	go.opentelemetry.io/otel v1.35.0
	go.opentelemetry.io/otel/metric v1.35.0
	go.opentelemetry.io/otel/sdk/metric v1.35.0
)

require (
	github.com/go-logr/logr v1.4.2 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.opentelemetry.io/auto/sdk v1.1.0 // indirect
	go.opentelemetry.io/otel/sdk v1.35.0 // indirect
	go.opentelemetry.io/otel/trace v1.35.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
