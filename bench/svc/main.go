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
// Memory beyond the Go heap (the off-heap scenario, bench/README.md): with
// -mmap N it maps and touches N MiB of anonymous memory with syscall.Mmap
// before it starts serving, and with -child N it re-executes itself in the
// "-hold N" mode, a child process in the same cgroup that maps and touches
// N MiB and holds it until its stdin ends (or this process dies).
//
// -pressure (mem mode, rightsize variant only) registers a handler with
// rightsize.OnMemoryPressure: "log" only reports the signals, "act" also
// drops the cache and stops it growing when a heap, working-set, high or max
// signal begins. With -target 0 the cache grows without bound. Signals and
// the drop are printed as "EVENT <json>" lines.
//
// It listens on 127.0.0.1 (-addr), prints one line "READY <json>" with its
// address, GOMAXPROCS and GOMEMLIMIT to stdout, and serves GET /stats (JSON,
// see stats) on the same port; with -report it also prints "STATS <json>"
// lines to stdout at that interval (so a process the kernel OOM-kills has
// left its last numbers behind).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
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
	HeapLive uint64  `json:"heap_live"` // bytes marked live by the last GC
	HeapGoal uint64  `json:"heap_goal"` // the GC's next target
	MemTotal uint64  `json:"mem_total"` // all memory mapped by the runtime
	Released uint64  `json:"released"`  // of which returned to the OS (heap/released)
	// LimiterCycle is the GC cycle in which the GC CPU limiter was last
	// enabled (0: never): the runtime could not keep the heap under
	// GOMEMLIMIT without exceeding 50% GC CPU.
	LimiterCycle uint64 `json:"limiter_cycle"`
	MaxRSS       int64  `json:"max_rss_kb"` // getrusage
	Cache        int    `json:"cache_bytes"`
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
	"/memory/classes/heap/released:bytes",
	"/gc/limiter/last-enabled:gc-cycle",
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
	s.NumGC, s.HeapLive, s.HeapGoal, s.MemTotal, s.Released = u(5), u(6), u(7), u(8), u(9)
	s.LimiterCycle = u(10)
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
	stopped    bool // the cache was dropped under memory pressure
)

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v + byte(i)
	}
}

var sink atomic.Pointer[[]byte]

// registerPressure is set by the rightsize variant: it registers fn with
// rightsize.OnMemoryPressure.
var registerPressure func(fn func(Pressure))

// Pressure is a memory pressure signal as the service reports it.
type Pressure struct {
	Cause      string
	Active     bool
	WorkingSet int64
	Limit      int64
}

// Event is an "EVENT <json>" line.
type Event struct {
	T          float64 `json:"t"` // seconds since the process started
	Kind       string  `json:"kind"`
	Cause      string  `json:"cause,omitempty"`
	Active     bool    `json:"active,omitempty"`
	WorkingSet int64   `json:"ws,omitempty"`
	Limit      int64   `json:"limit,omitempty"`
	Cache      int     `json:"cache,omitempty"`
}

var outMu sync.Mutex

// emit prints one line to stdout; lines of different goroutines do not mix.
func emit(prefix string, v any) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	fmt.Printf("%s %s\n", prefix, b)
	outMu.Unlock()
}

// mapTouched maps n MiB of private anonymous memory with syscall.Mmap and
// writes every page, so that all of it is charged to the cgroup.
func mapTouched(mib int) []byte {
	if mib <= 0 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, mib<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		log.Fatalf("mmap %d MiB: %v", mib, err)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// hold is the child's main: map and touch mib MiB, say HELD, keep it until
// stdin ends.
func hold(mib int) {
	m := mapTouched(mib)
	fmt.Println("HELD")
	_, _ = io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(m)
	os.Exit(0)
}

// startHolder re-executes this binary as a child in "-hold mib" mode (in
// the same cgroup: it inherits it) and waits until it holds the memory.
// The child dies with this process (Pdeathsig).
func startHolder(mib int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-hold", strconv.Itoa(mib))
	cmd.Env = append(os.Environ(), "RIGHTSIZE=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil { // held open: the child waits on it
		log.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatalf("starting the holder: %v", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "HELD" {
		log.Fatalf("holder said %q: %v", line, err)
	}
	return cmd
}

func main() {
	mode := flag.String("mode", "cpu", "cpu or mem")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	live := flag.Int("live", 16, "cpu mode: MiB of pointer-rich live heap")
	target := flag.Int("target", 154, "mem mode: MiB of live cache to climb to")
	grow := flag.Int("grow", 64, "mem mode: KiB added to the cache per request")
	garbage := flag.Int("garbage", 256, "mem mode: KiB of short-lived allocation per request")
	report := flag.Duration("report", 0, "print STATS lines at this interval (0: never)")
	mmapMiB := flag.Int("mmap", 0, "MiB of anonymous memory to map with syscall.Mmap and touch at start")
	childMiB := flag.Int("child", 0, "MiB held by a child process (this binary re-executed with -hold) in the same cgroup")
	holdMiB := flag.Int("hold", 0, "internal: be the child that holds this many MiB")
	pressure := flag.String("pressure", "", "mem mode, rightsize variant: register a memory pressure handler that only reports (log) or also drops the cache and stops it growing (act)")
	flag.Parse()
	if *holdMiB > 0 {
		hold(*holdMiB)
	}
	// Memory the Go runtime does not manage, taken before serving.
	offheap := mapTouched(*mmapMiB)
	var holder *exec.Cmd
	if *childMiB > 0 {
		holder = startHolder(*childMiB)
	}

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
		if *target <= 0 {
			targetBytes = math.MaxInt
		}
		growBytes := *grow << 10
		switch *pressure {
		case "":
		case "log", "act":
			if registerPressure == nil {
				log.Fatalf("-pressure needs the rightsize variant (this is %s)", variant)
			}
			act := *pressure == "act"
			registerPressure(func(p Pressure) {
				emit("EVENT", Event{T: time.Since(start).Seconds(), Kind: "pressure", Cause: p.Cause, Active: p.Active, WorkingSet: p.WorkingSet, Limit: p.Limit})
				if !act || !p.Active || p.Cause == "psi" {
					return
				}
				cacheMu.Lock()
				dropped := cacheBytes
				cache, cacheBytes, cacheNext = nil, 0, 0
				stopped = true
				cacheMu.Unlock()
				emit("EVENT", Event{T: time.Since(start).Seconds(), Kind: "drop", Cache: dropped})
				// Give the memory back now rather than at the next cycles
				// (the handler must not block: not on its goroutine).
				go debug.FreeOSMemory()
			})
		default:
			log.Fatalf("-pressure %q: want log or act", *pressure)
		}
		mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
			n := seq.Add(1)
			tmp := make([]byte, *garbage<<10)
			fill(tmp, byte(n))
			sink.Store(&tmp)
			entry := make([]byte, growBytes)
			fill(entry, byte(n>>8))
			cacheMu.Lock()
			if stopped {
				// Dropped under pressure: no more caching.
			} else if cacheBytes+growBytes <= targetBytes {
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
	outMu.Lock()
	fmt.Printf("READY %s\n", ready)
	outMu.Unlock()
	if *report > 0 {
		go func() {
			for range time.Tick(*report) {
				emit("STATS", readStats())
			}
		}()
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	err = srv.Serve(ln)
	if ballast != nil {
		runtime.KeepAlive(ballast)
	}
	runtime.KeepAlive(offheap)
	runtime.KeepAlive(holder)
	log.Fatal(err)
}
