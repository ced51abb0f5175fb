package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/bench/internal/memexp"
)

// TestResultsRoundTrip: what the guest prints, interleaved with console
// noise (kernel messages, other output), comes back whole.
func TestResultsRoundTrip(t *testing.T) {
	res := &memexp.Results{Runs: []memexp.Run{{Variant: "rightsize", Rep: 1, Survived: true, Exit: "running",
		Timeline: make([]memexp.Sample, 500)}}}
	res.Config.Scenario = "offheap"
	var out bytes.Buffer
	if err := emitResults(&out, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	var console strings.Builder
	for i, l := range lines {
		console.WriteString(l + "\n")
		if i%3 == 0 {
			console.WriteString("[   12.345678] Memory cgroup out of memory: Killed process 123 (svc-none)\n")
		}
	}
	got, err := parseResults(console.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.Scenario != "offheap" || len(got.Runs) != 1 || got.Runs[0].Variant != "rightsize" || len(got.Runs[0].Timeline) != 500 {
		t.Errorf("round trip: %+v", got.Config)
	}
	if _, err := parseResults("no results here\n"); err == nil {
		t.Error("parseResults without results: no error")
	}
}

func TestLineFilter(t *testing.T) {
	var b bytes.Buffer
	f := &lineFilter{w: &b, drop: jsonPrefix}
	for _, chunk := range []string{"one\nMEMSURV", "IVE-JSON abc\ntw", "o\n"} {
		if _, err := f.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if b.String() != "one\ntwo\n" {
		t.Errorf("filtered %q", b.String())
	}
}
