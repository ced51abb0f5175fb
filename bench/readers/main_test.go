package readers

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
)

// where describes the cgroup the benchmarks ran in.
var where = "the test process's own cgroup"

func TestMain(m *testing.M) {
	flag.Parse()
	var restore func()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" && os.Getenv("RIGHTSIZE_BENCH_OWN_CGROUP") == "" {
		restore = enterLimitedCgroup()
	}
	code := m.Run()
	if restore != nil {
		restore()
	}
	os.Exit(code)
}

// enterLimitedCgroup moves this process into fresh child cgroups with a
// 2-CPU quota and a 1 GiB memory limit; the returned function moves it
// back and removes them. Without root or a writable cgroupfs it does
// nothing.
func enterLimitedCgroup() func() {
	host, err := cgctl.Discover()
	if err != nil {
		fmt.Fprintf(os.Stderr, "readers: benchmarks run in the process's own cgroup: %v\n", err)
		return nil
	}
	g, err := host.Create(cgctl.Spec{Name: "readers", Quota: 2, MemLimit: 1 << 30})
	if err != nil {
		fmt.Fprintf(os.Stderr, "readers: %v\n", err)
		return nil
	}
	parents := map[string]string{}
	for _, d := range g.Dirs() {
		parents[d] = filepath.Dir(d)
	}
	back := func() {
		for _, d := range g.Dirs() {
			_ = os.WriteFile(filepath.Join(parents[d], "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
		}
		_ = g.Remove()
	}
	if err := g.AddProc(os.Getpid()); err != nil {
		fmt.Fprintf(os.Stderr, "readers: entering %v: %v\n", g.Dirs(), err)
		back()
		return nil
	}
	// Ctrl-C during the benchmarks: move back and clean up before dying.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		back()
		signal.Reset()
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Signal(s)
	}()
	where = fmt.Sprintf("child cgroups with a 2-CPU quota and a 1 GiB memory limit (%s)", g.Dirs()[0])
	fmt.Fprintf(os.Stderr, "readers: benchmarks run in %s\n", where)
	return back
}
