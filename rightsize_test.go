package rightsize

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// childEnv makes this test binary a child process of the end-to-end tests
// (e2e_linux_test.go, v2guest_linux_test.go); its value is the child's mode.
const childEnv = "RIGHTSIZE_E2E_CHILD"

// childMain runs the child mode and returns the exit status (set on Linux).
// It runs at the start of TestMain, after every init (the blank import's
// included) and before the testing package touches GOMAXPROCS.
var childMain func(mode string) int

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" && childMain != nil {
		os.Exit(childMain(mode))
	}
	// The test binary itself has the blank import: hand the runtime back,
	// so that the tests start from the runtime's own settings.
	Undo()
	// As root, SweepMain removes the cgroups earlier runs of these tests
	// left behind, runs them, and removes this run's own leftovers.
	os.Exit(testenv.SweepMain(m))
}

// logCapture collects the records of slog's default logger while a test
// runs.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.recs = append(c.recs, r.Clone())
	c.mu.Unlock()
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) messages(level slog.Level) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.recs {
		if r.Level == level {
			out = append(out, r.Message)
		}
	}
	return out
}

// captureDefaultLog makes slog's default logger (which the blank import
// logs to) record into a capture until the test ends.
func captureDefaultLog(t *testing.T) *logCapture {
	c := &logCapture{}
	prev := slog.Default()
	slog.SetDefault(slog.New(c))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return c
}

// useTuner makes the package's tuner (what the blank import's Result,
// Stop and Undo use) t's, and puts the original back at the end.
func useTuner(t *testing.T, tu *runtimeinfo.Tuner) {
	prev := tuner
	tuner = tu
	t.Cleanup(func() { tuner.Undo(); tuner = prev })
}

// saveRuntime restores GOMAXPROCS and GOMEMLIMIT after the test.
func saveRuntime(t *testing.T) {
	procs, mem := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		if runtime.GOMAXPROCS(0) != procs {
			runtime.GOMAXPROCS(procs)
		}
		debug.SetMemoryLimit(mem)
	})
}

// TestStartOff: RIGHTSIZE=off makes init do nothing: no tuner, Result says
// so, and Stop and Undo are safe.
func TestStartOff(t *testing.T) {
	saveRuntime(t)
	logs := captureDefaultLog(t)
	procs, mem := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	useTuner(t, start([]string{"RIGHTSIZE=off", runtimeinfo.EnvCPULimitMillis + "=500"}))
	res, changes, ok := Result()
	if ok || tuner != nil || changes != nil || res.GOMAXPROCS.Reason != "" {
		t.Errorf("RIGHTSIZE=off: ok %v, %+v, %v", ok, res, changes)
	}
	Stop()
	Undo()
	if runtime.GOMAXPROCS(0) != procs || debug.SetMemoryLimit(-1) != mem {
		t.Error("RIGHTSIZE=off changed the runtime")
	}
	if len(logs.recs) != 0 {
		t.Errorf("RIGHTSIZE=off logged %d lines", len(logs.recs))
	}
}

// TestStartSettings: the RIGHTSIZE_* settings come from the environment
// through runtimeinfo's parser; an unusable value is one warning, and its
// default is used.
func TestStartSettings(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the blank import does nothing outside Linux")
	}
	saveRuntime(t)
	logs := captureDefaultLog(t)
	// The Downward API gives a limit where the cgroup shows none, so that
	// the decisions show the policy whatever this machine's cgroups say.
	env := []string{
		runtimeinfo.EnvCPULimitMillis + "=1500", runtimeinfo.EnvMemoryLimitBytes + "=268435456",
		"RIGHTSIZE_CPU_POLICY=round", "RIGHTSIZE_MIN_PROCS=0", "RIGHTSIZE_MEMORY_RATIO=1.5",
		"RIGHTSIZE_MEMORY_RESERVE_BYTES=-1", "RIGHTSIZE_WATCH_INTERVAL=soon", "RIGHTSIZE_GOMAXPROCS=maybe",
	}
	tu := start(env)
	useTuner(t, tu)
	res, _, ok := Result()
	if !ok || tu == nil {
		t.Fatalf("start: ok %v", ok)
	}
	warns := logs.messages(slog.LevelWarn)
	for _, name := range []string{"RIGHTSIZE_CPU_POLICY", "RIGHTSIZE_MIN_PROCS", "RIGHTSIZE_MEMORY_RATIO", "RIGHTSIZE_MEMORY_RESERVE_BYTES", "RIGHTSIZE_WATCH_INTERVAL", "RIGHTSIZE_GOMAXPROCS"} {
		n := 0
		for _, w := range warns {
			if strings.Contains(w, name+"=") && strings.Contains(w, "the default is used") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d warnings about %s, want 1: %q", n, name, warns)
		}
	}
	if !strings.Contains(res.GOMAXPROCS.Reason, "policy ceil, minimum 1") || !strings.Contains(res.GOMEMLIMIT.Reason, "0.9 × limit") {
		t.Errorf("defaults not used:\n%s\n%s", res.GOMAXPROCS.Reason, res.GOMEMLIMIT.Reason)
	}
	Undo()
	Undo()
	Stop()

	// Valid settings are applied.
	logs = captureDefaultLog(t)
	useTuner(t, start([]string{runtimeinfo.EnvCPULimitMillis + "=1500", runtimeinfo.EnvMemoryLimitBytes + "=268435456",
		"RIGHTSIZE_CPU_POLICY=floor", "RIGHTSIZE_MEMORY_RATIO=0.5", "RIGHTSIZE_WATCH_INTERVAL=off", "RIGHTSIZE_LOG=off"}))
	res, _, _ = Result()
	if !strings.Contains(res.GOMAXPROCS.Reason, "policy floor") || !strings.Contains(res.GOMEMLIMIT.Reason, "0.5 × limit") {
		t.Errorf("settings not applied:\n%s\n%s", res.GOMAXPROCS.Reason, res.GOMEMLIMIT.Reason)
	}
	if n := len(logs.messages(slog.LevelInfo)); n != 0 {
		t.Errorf("RIGHTSIZE_LOG=off: %d info lines", n)
	}
}

// TestNilTuner: the package's functions are safe when init did nothing.
func TestNilTuner(t *testing.T) {
	useTuner(t, nil)
	if res, changes, ok := Result(); ok || changes != nil || res.GOMAXPROCS.Setting != "" {
		t.Errorf("Result with no tuner: %+v %v %v", res, changes, ok)
	}
	Stop()
	Undo()
}
