// Command svc is the service the experiments measure. It is built in
// variants that differ only in a blank import, selected by build tags:
//
//	(none)        no tuning: the Go runtime's defaults, or GOMAXPROCS from the environment
//	rightsize     import _ "github.com/rightsize/rightsize"
//	automaxprocs  import _ "go.uber.org/automaxprocs"
//	automemlimit  import _ "github.com/KimMachineGun/automemlimit"
//
// -mode cpu serves GET /work: a fixed amount of CPU work and allocation
// per request (package work) over a pointer-rich live heap (-live MiB), so
// the garbage collector runs all the time. -mode mem serves GET /work with
// a cache that grows by -grow KiB per request up to -target MiB of live
// heap and then replaces entries, plus -garbage KiB of short-lived
// allocation per request: the live heap climbs under load and stays.
//
// It listens on 127.0.0.1 (-addr), prints one line "READY <json>" with its
// address, GOMAXPROCS and GOMEMLIMIT to stdout, and serves GET /stats (JSON,
// see stats) on the same port; with -report it also prints "STATS <json>"
// lines to stdout at that interval (so a process the kernel OOM-kills has
// left its last numbers behind).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/bench/internal/work"
)

// variant is set by the tagged files.
var variant = "none"

var served atomic.Uint64

// Stats is what /stats and STATS lines report.
type Stats struct {
	Variant    string  `json:"variant"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	NumCPU     int     `json:"numcpu"`
	GOMEMLIMIT int64   `json:"gomemlimit"` // math.MaxInt64: none
	GOGC       string  `json:"gogc"`
	Served     uint64  `json:"served"`
	Uptime     float64 `json:"uptime_s"`
	NumGC      uint64  `json:"num_gc"`
	// CPU time as the runtime accounts it (runtime/metrics), seconds.
	GCCPU, UserCPU, ScavengeCPU, IdleCPU, TotalCPU float64
	// GCFraction is GC CPU over CPU in use (total minus idle).
	GCFraction float64 `json:"gc_fraction"`
	// OS view of this process, seconds.
	ProcCPU  float64 `json:"proc_cpu_s"`
	HeapLive uint64  `json:"heap_live"`  // bytes marked live by the last GC
	HeapGoal uint64  `json:"heap_goal"`  // the GC's next target
	MemTotal uint64  `json:"mem_total"`  // all memory mapped by the runtime
	MaxRSS   int64   `json:"max_rss_kb"` // getrusage
	Cache    int     `json:"cache_bytes"`
}

var start = time.Now()

var metricNames = []string{
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/user:cpu-seconds",
	"/cpu/classes/scavenge/total:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/total:bytes",
}

func readStats() Stats {
	s := Stats{
		Variant:    variant,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		GOMEMLIMIT: debug.SetMemoryLimit(-1),
		GOGC:       os.Getenv("GOGC"),
		Served:     served.Load(),
		Uptime:     time.Since(start).Seconds(),
	}
	samples := make([]metrics.Sample, len(metricNames))
	for i, n := range metricNames {
		samples[i].Name = n
	}
	metrics.Read(samples)
	f := func(i int) float64 {
		if samples[i].Value.Kind() == metrics.KindFloat64 {
			return samples[i].Value.Float64()
		}
		return 0
	}
	u := func(i int) uint64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0
	}
	s.GCCPU, s.UserCPU, s.ScavengeCPU, s.IdleCPU, s.TotalCPU = f(0), f(1), f(2), f(3), f(4)
	if used := s.TotalCPU - s.IdleCPU; used > 0 {
		s.GCFraction = s.GCCPU / used
	}
	s.NumGC, s.HeapLive, s.HeapGoal, s.MemTotal = u(5), u(6), u(7), u(8)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.ProcCPU = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		s.MaxRSS = ru.Maxrss
	}
	cacheMu.Lock()
	s.Cache = cacheBytes
	cacheMu.Unlock()
	return s
}

// mem mode state
var (
	cacheMu    sync.Mutex
	cache      [][]byte
	cacheBytes int
	cacheNext  int
)

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v + byte(i)
	}
}

var sink atomic.Pointer[[]byte]

func main() {
	mode := flag.String("mode", "cpu", "cpu or mem")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	live := flag.Int("live", 16, "cpu mode: MiB of pointer-rich live heap")
	target := flag.Int("target", 154, "mem mode: MiB of live cache to climb to")
	grow := flag.Int("grow", 64, "mem mode: KiB added to the cache per request")
	garbage := flag.Int("garbage", 256, "mem mode: KiB of short-lived allocation per request")
	report := flag.Duration("report", 0, "print STATS lines at this interval (0: never)")
	flag.Parse()

	var ballast *work.Ballast
	if *mode == "cpu" {
		ballast = work.NewBallast(*live)
	}
	mux := http.NewServeMux()
	var seq atomic.Uint64
	switch *mode {
	case "cpu":
		mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
			out := work.Request(seq.Add(1))
			served.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(len(out)))
			_, _ = w.Write([]byte(out))
		})
	case "mem":
		targetBytes := *target << 20
		growBytes := *grow << 10
		mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
			n := seq.Add(1)
			tmp := make([]byte, *garbage<<10)
			fill(tmp, byte(n))
			sink.Store(&tmp)
			entry := make([]byte, growBytes)
			fill(entry, byte(n>>8))
			cacheMu.Lock()
			if cacheBytes+growBytes <= targetBytes {
				cache = append(cache, entry)
				cacheBytes += growBytes
			} else if len(cache) > 0 {
				cache[cacheNext%len(cache)] = entry
				cacheNext++
			}
			cacheMu.Unlock()
			served.Add(1)
			w.Header().Set("Content-Length", "2")
			_, _ = w.Write([]byte("ok"))
		})
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(readStats())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	st := readStats()
	ready, _ := json.Marshal(map[string]any{
		"addr": ln.Addr().String(), "variant": variant, "gomaxprocs": st.GOMAXPROCS,
		"gomemlimit": st.GOMEMLIMIT, "numcpu": st.NumCPU, "pid": os.Getpid(),
	})
	fmt.Printf("READY %s\n", ready)
	if *report > 0 {
		go func() {
			for range time.Tick(*report) {
				b, _ := json.Marshal(readStats())
				fmt.Printf("STATS %s\n", b)
			}
		}()
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	err = srv.Serve(ln)
	if ballast != nil {
		runtime.KeepAlive(ballast)
	}
	log.Fatal(err)
}
