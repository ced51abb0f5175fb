// Command tracer prints the files the blank import's init reads here: it
// runs what that init runs (runtimeinfo.Start with the environment and
// the RIGHTSIZE_* settings) with the file layer's trace on, stops the
// watcher, and prints one argument per file, open:PATH or stat:PATH, in
// order and each once. The start-up experiment runs it in each cgroup it
// measures and hands the list to the floor variant (package floorinit).
package main

import (
	"fmt"
	"os"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

func main() {
	var out []string
	seen := map[string]bool{}
	stop := rootfs.Trace(func(op, path string) {
		a := op + ":" + path
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	})
	_, t, err := runtimeinfo.Start(runtimeinfo.WithEnviron(os.Environ()), runtimeinfo.WithEnvConfig(), runtimeinfo.WithLogger(nil))
	stop()
	t.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracer:", err)
		os.Exit(1)
	}
	for _, a := range out {
		fmt.Println(a)
	}
}
