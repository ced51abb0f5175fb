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
	cfg := Config{N: 5, InitTrace: 2, Variants: []string{"none", "automaxprocs"}, Limited: true, Quota: 1.5, MemLimit: 256 << 20, ModDir: mod}
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	testroot.NothingLeft(t)
	if len(res.Envs) != 2 {
		t.Fatalf("envs %+v", res.Envs)
	}
	for _, e := range res.Envs {
		if len(e.Nanos["none"]) != 5 || len(e.Nanos["automaxprocs"]) != 5 {
			t.Errorf("%s: %v", e.Name, e.Nanos)
		}
		if len(e.Init["automaxprocs"]["go.uber.org/automaxprocs"]) != 2 {
			t.Errorf("%s: inittrace %v", e.Name, e.Init["automaxprocs"])
		}
	}
	if md := res.Markdown(); !strings.Contains(md, "| automaxprocs ") {
		t.Errorf("markdown:\n%s", md)
	}
}
