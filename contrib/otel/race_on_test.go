//go:build race

package otel

// raceEnabled: under the race detector sync.Pool drops items at random, so
// the SDK's own allocations per collection vary by one or two.
const raceEnabled = true
