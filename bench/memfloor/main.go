// Command memfloor prints how much memory the Go runtime holds in a program
// that has done nothing yet, and in one that serves HTTP with 50 idle
// goroutines: the measurement behind runtimeinfo.MinGOMEMLIMIT. A
// GOMEMLIMIT below what the runtime holds before the heap holds anything
// can never be met, and the collector would run without pause.
//
//	go run ./memfloor
package main

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
)

func read() (held, heapObjects, nonHeap uint64) {
	names := []string{
		"/memory/classes/total:bytes",
		"/memory/classes/heap/released:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes",
		"/memory/classes/heap/free:bytes",
	}
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	held = v(0) - v(1)
	return held, v(2), held - v(2) - v(3) - v(4)
}

func show(what string) {
	held, objects, nonHeap := read()
	fmt.Printf("%-42s held %.2f MiB (heap objects %.2f MiB, outside the heap %.2f MiB)\n",
		what, float64(held)/(1<<20), float64(objects)/(1<<20), float64(nonHeap)/(1<<20))
}

func main() {
	fmt.Println(runtime.Version())
	show("empty program:")
	go http.ListenAndServe("127.0.0.1:0", nil)
	for i := 0; i < 50; i++ {
		go func() { select {} }()
	}
	runtime.Gosched()
	show("HTTP server and 50 idle goroutines:")
}
