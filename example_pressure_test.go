package rightsize_test

import (
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// cache is a service's cache that may be dropped under memory pressure.
type cache struct {
	mu      sync.Mutex
	entries map[string][]byte
	// pressed holds the causes of memory pressure in force: while any
	// is, the cache stays empty.
	pressed map[runtimeinfo.PressureCause]bool
}

func (c *cache) put(k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pressed) == 0 {
		c.entries[k] = v
	}
}

// A service with a cache listens for memory pressure: when its live heap
// reaches 90% of GOMEMLIMIT, its cgroup's working set passes 90% of the
// limit, or the kernel reports that usage hit memory.max or memory.high, it
// drops the cache and stops filling it until
// the condition ends. The handler runs on the watcher's goroutine and must
// not block, so the memory is given back on another goroutine. (Signals
// come only where a memory limit exists, so the example has no Output; see
// docs/memory.md.)
func ExampleOnMemoryPressure() {
	c := &cache{entries: map[string][]byte{}, pressed: map[runtimeinfo.PressureCause]bool{}}
	remove := rightsize.OnMemoryPressure(func(p runtimeinfo.MemoryPressure) {
		slog.Warn("memory pressure", "cause", p.Cause, "active", p.Active, "working_set", p.WorkingSet, "limit", p.Limit)
		switch p.Cause {
		case runtimeinfo.PressureHeap, runtimeinfo.PressureWorkingSet, runtimeinfo.PressureHigh, runtimeinfo.PressureMax:
		default:
			return // PSI: only logged here
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if p.Active {
			c.pressed[p.Cause] = true
			c.entries = map[string][]byte{}
			go debug.FreeOSMemory()
		} else {
			delete(c.pressed, p.Cause)
		}
	})
	defer remove()

	c.put("key", make([]byte, 1<<10))
}
