// Package hoststat samples the host's CPU use (/proc/stat) and this
// process's own, so an experiment can tell how much CPU went to everything
// else while it ran.
package hoststat

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of /proc/stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

// Sample is one reading.
type Sample struct {
	At time.Time
	// Busy is CPU time spent not idle, summed over CPUs: user, nice,
	// system, irq, softirq (guest time is inside user). Steal is separate.
	Busy, Idle, Steal time.Duration
	// Self is this process's user+system time.
	Self time.Duration
}

// Read takes a sample.
func Read() (Sample, error) {
	s := Sample{At: time.Now()}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return s, fmt.Errorf("/proc/stat: empty")
	}
	fs := strings.Fields(sc.Text())
	if len(fs) < 8 || fs[0] != "cpu" {
		return s, fmt.Errorf("/proc/stat: unexpected first line %q", sc.Text())
	}
	var v [10]uint64
	for i := 1; i < len(fs) && i <= 10; i++ {
		v[i-1], _ = strconv.ParseUint(fs[i], 10, 64)
	}
	j := func(x uint64) time.Duration { return time.Duration(x) * time.Second / userHZ }
	// user nice system idle iowait irq softirq steal guest guest_nice
	s.Busy = j(v[0] + v[1] + v[2] + v[5] + v[6])
	s.Idle = j(v[3] + v[4])
	s.Steal = j(v[7])
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		s.Self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s, nil
}

// Delta is the CPU use between two samples, in CPUs (cores busy on
// average).
type Delta struct {
	Wall                 time.Duration
	Busy, Steal, SelfCPU float64
}

// Sub returns the use from a to b.
func (b Sample) Sub(a Sample) Delta {
	w := b.At.Sub(a.At)
	if w <= 0 {
		return Delta{}
	}
	c := func(d time.Duration) float64 { return float64(d) / float64(w) }
	return Delta{Wall: w, Busy: c(b.Busy - a.Busy), Steal: c(b.Steal - a.Steal), SelfCPU: c(b.Self - a.Self)}
}

// LoadAvg returns the 1-minute load average.
func LoadAvg() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	fs := strings.Fields(string(b))
	if len(fs) == 0 {
		return 0, fmt.Errorf("/proc/loadavg: empty")
	}
	return strconv.ParseFloat(fs[0], 64)
}
