package startexp

import (
	"context"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/bench/internal/testroot"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

func TestSmoke(t *testing.T) {
	testroot.Host(t)
	mod, err := variant.ModDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{N: 5, InitTrace: 2, Variants: []string{"none", "automaxprocs", "deps", "floor"}, Limited: true, Quota: 1.5, MemLimit: 256 << 20, ModDir: mod}
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	testroot.NothingLeft(t)
	if len(res.Envs) != 2 {
		t.Fatalf("envs %+v", res.Envs)
	}
	for _, e := range res.Envs {
		for _, v := range cfg.Variants {
			if len(e.Nanos[v]) != 5 {
				t.Errorf("%s: %s: %v", e.Name, v, e.Nanos[v])
			}
		}
		// The floor reads what the library reads there: at least
		// /proc/self/cgroup and /proc/self/mountinfo.
		if f := res.FloorFiles[e.Name]; len(f) < 2 || f[0] != "open:/proc/self/cgroup" {
			t.Errorf("%s: floor's files %q", e.Name, f)
		}
		if len(e.Init["automaxprocs"]["go.uber.org/automaxprocs"]) != 2 {
			t.Errorf("%s: inittrace %v", e.Name, e.Init["automaxprocs"])
		}
	}
	if md := res.Markdown(); !strings.Contains(md, "| automaxprocs ") {
		t.Errorf("markdown:\n%s", md)
	}
}
