package memexp

import (
	"strings"
	"testing"

	"github.com/rightsize/rightsize/bench/internal/svcrun"
)

// TestMarkdown renders a made-up pressure run and a paired comparison
// without running anything.
func TestMarkdown(t *testing.T) {
	res := &Results{}
	res.Config.Scenario, res.Config.Limit, res.Config.Variants = "pressure", 256<<20, []string{"handler", "no-handler"}
	res.Runs = []Run{
		{Variant: "handler", Rep: 1, Survived: true, Exit: "running", Alive: 40, GOMEMLIMIT: 230 << 20, StartGOMEMLIMIT: 230 << 20, MinGOMEMLIMIT: 230 << 20,
			GCFraction: 0.1, CPU: 10, Completed: 1000, RPS: 25,
			Events:   []svcrun.Event{{T: 7, Kind: "pressure", Cause: "working-set", Active: true, WorkingSet: 240 << 20}, {T: 7, Kind: "drop", Cache: 200 << 20}, {T: 8, Kind: "pressure", Cause: "working-set"}},
			Timeline: []Sample{{T: 6, GOMEMLIMIT: 230 << 20, HeapLive: 210 << 20, Alive: true}}},
		{Variant: "no-handler", Rep: 1, Exit: "killed by signal 9 (killed)", OOMKills: 1, Alive: 8.5, GOMEMLIMIT: 230 << 20, StartGOMEMLIMIT: 230 << 20,
			MinGOMEMLIMIT: 230 << 20, GCFraction: 0.12, CPU: 5, Completed: 400, RPS: 47},
	}
	md := res.Markdown()
	for _, want := range []string{
		"| handler    | survived 1/1 ",
		"| no-handler | survived 0/1, OOM-killed 1/1 ",
		"| handler | 1 | 7.0 (working-set, 240) | 7.0 (200) | 8.0 | 1 / 1 | – | – | 6.0 | – |",
		"| no-handler | 1 | – | – | – | 0 / 0 | 8.5 | – | – | – |",
		"Paired by repetition (handler ÷ no-handler",
		"| 1 | 10.0% | 12.0% | 0.833 | 25 | 47 | 0.532 | 10000 | 12500 | 0.800 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
