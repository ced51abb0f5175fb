package runtimeinfo

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
)

// podTree is a cgroup v2 capture in which every file a Reader reads is
// present and well-formed (proc/meminfo and proc/self/status included), so
// that a Read of it reports no error: /sys/fs/cgroup/pod (the parent, no
// limits) and /sys/fs/cgroup/pod/app (the process's cgroup: cpu.max
// 150000 100000, memory.max 256 MiB), 8 CPUs allowed, 16384000 kB of host
// memory, no GOMAXPROCS or GOMEMLIMIT in proc/self/environ.
const podTree = "testdata/v2-pod"

// fixture is a copy of podTree in a temporary directory, which a test may
// rewrite.
type fixture struct {
	t    testing.TB
	root string
}

// newFixture copies podTree and then writes files over it; a value of "-"
// removes the file.
func newFixture(t testing.TB, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir()}
	testenv.CopyTree(t, podTree, f.root)
	for name, content := range files {
		if content == "-" {
			f.remove(name)
			continue
		}
		f.write(name, content)
	}
	return f
}

// write rewrites a file in place (the same inode, as the kernel's files
// are), so that descriptors kept open see the new content.
func (f *fixture) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remove(name string) {
	f.t.Helper()
	if err := os.RemoveAll(filepath.Join(f.root, name)); err != nil {
		f.t.Fatal(err)
	}
}

// quiet silences the log lines.
func quiet() Option { return WithLogger(nil) }

// withMode fixes the runtime mode for a test.
func withMode(version, defaultGODEBUG string) Option {
	return optionFunc(func(c *config) {
		c.goVersion = version
		c.defaultGODEBUG = &defaultGODEBUG
	})
}

// oldGo is the mode of Go before 1.25: the runtime knows no cgroups, and
// rightsize never hands GOMAXPROCS back to it while a limit exists.
func oldGo() Option { return withMode("go1.24.11", "") }

// saveRuntime restores GOMAXPROCS, GOMEMLIMIT and rightsize's record of
// what it set (owner) after the test, and starts the test with a clean
// record.
func saveRuntime(t testing.TB) {
	t.Helper()
	procs := runtime.GOMAXPROCS(0)
	mem := debug.SetMemoryLimit(-1)
	resetOwner()
	t.Cleanup(func() {
		if runtime.GOMAXPROCS(0) != procs {
			runtime.GOMAXPROCS(procs)
		}
		debug.SetMemoryLimit(mem)
		resetOwner()
	})
}

func resetOwner() {
	owner.mu.Lock()
	owner.procs, owner.procsOff, owner.mem, owner.memOrig, owner.memOff = 0, false, 0, 0, false
	owner.mu.Unlock()
}

func noMemLimit() { debug.SetMemoryLimit(math.MaxInt64) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// logRecord is one log line: its level, message and attributes.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// logCapture is a slog.Handler that keeps every record, for tests that
// count warnings.
type logCapture struct {
	mu      sync.Mutex
	records []logRecord
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	c.records = append(c.records, rec)
	c.mu.Unlock()
	return nil
}

func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// option logs to the capture.
func (c *logCapture) option() Option { return WithLogger(slog.New(c)) }

// count returns how many records at level have a message containing msg.
func (c *logCapture) count(level slog.Level, msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.records {
		if r.Level == level && strings.Contains(r.Msg, msg) {
			n++
		}
	}
	return n
}

// find returns the records at level whose message contains msg.
func (c *logCapture) find(level slog.Level, msg string) []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logRecord
	for _, r := range c.records {
		if r.Level == level && strings.Contains(r.Msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

func (c *logCapture) all() []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logRecord(nil), c.records...)
}

// mustConfig builds a configuration from valid options.
func mustConfig(t testing.TB, opts ...Option) *config {
	t.Helper()
	c, err := newConfig(opts)
	if err != nil {
		t.Fatalf("newConfig: %v", err)
	}
	return &c
}
