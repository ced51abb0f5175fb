// Command launcher times whole-process start-up: it runs each binary given
// on the command line n times, interleaved in a shuffled order per round,
// and prints the wall time of each fork+exec+run+exit+wait as JSON. With
// -inittrace m it also runs each m times with GODEBUG=inittrace=1 and
// reports the init clock time the runtime measured per package. With
// -args it passes arguments to some binaries (the floor variant's file
// list). The experiment starts it inside the cgroup under test, so the
// binaries it runs start there.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

type out struct {
	Nanos     map[string][]int64              `json:"nanos"`
	InitClock map[string]map[string][]float64 `json:"init_clock_ms"` // binary -> package -> ms
	InitAlloc map[string]map[string][]float64 `json:"init_bytes"`
	Err       string                          `json:"err,omitempty"`
}

func main() {
	n := flag.Int("n", 100, "runs per binary")
	m := flag.Int("inittrace", 20, "runs per binary with GODEBUG=inittrace=1")
	argsJSON := flag.String("args", "{}", "JSON object: binary path -> its arguments")
	flag.Parse()
	bins := flag.Args()
	var binArgs map[string][]string
	if err := json.Unmarshal([]byte(*argsJSON), &binArgs); err != nil {
		emit(out{Err: "-args: " + err.Error()})
		os.Exit(2)
	}
	o := out{Nanos: map[string][]int64{}, InitClock: map[string]map[string][]float64{}, InitAlloc: map[string]map[string][]float64{}}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	env := os.Environ()
	// warm the page cache
	for _, b := range bins {
		_ = exec.Command(b, binArgs[b]...).Run()
	}
	for i := 0; i < *n; i++ {
		order := append([]string(nil), bins...)
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, b := range order {
			cmd := exec.Command(b, binArgs[b]...)
			cmd.Env = env
			t0 := time.Now()
			err := cmd.Run()
			d := time.Since(t0)
			if err != nil {
				o.Err = fmt.Sprintf("%s: %v", b, err)
				emit(o)
				os.Exit(1)
			}
			o.Nanos[b] = append(o.Nanos[b], int64(d))
		}
	}
	for i := 0; i < *m; i++ {
		for _, b := range bins {
			cmd := exec.Command(b, binArgs[b]...)
			cmd.Env = append(append([]string(nil), env...), "GODEBUG=inittrace=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				o.Err = fmt.Sprintf("%s: %v", b, err)
				emit(o)
				os.Exit(1)
			}
			if o.InitClock[b] == nil {
				o.InitClock[b] = map[string][]float64{}
				o.InitAlloc[b] = map[string][]float64{}
			}
			total, totalBytes := 0.0, 0.0
			sc := bufio.NewScanner(&stderr)
			for sc.Scan() {
				// init PKG @0.012 ms, 0.003 ms clock, 0 bytes, 0 allocs
				f := strings.Fields(sc.Text())
				if len(f) < 11 || f[0] != "init" {
					continue
				}
				clock, err1 := strconv.ParseFloat(f[4], 64)
				by, err2 := strconv.ParseFloat(f[7], 64)
				if err1 != nil || err2 != nil {
					continue
				}
				o.InitClock[b][f[1]] = append(o.InitClock[b][f[1]], clock)
				o.InitAlloc[b][f[1]] = append(o.InitAlloc[b][f[1]], by)
				total += clock
				totalBytes += by
			}
			o.InitClock[b]["(all)"] = append(o.InitClock[b]["(all)"], total)
			o.InitAlloc[b]["(all)"] = append(o.InitAlloc[b]["(all)"], totalBytes)
		}
	}
	emit(o)
}

func emit(o out) {
	b, _ := json.Marshal(o)
	fmt.Println(string(b))
}
