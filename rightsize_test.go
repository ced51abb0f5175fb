package rightsize

import (
	"os"
	"testing"
	"time"
)

// childEnv marks the child process of the real-cgroup end-to-end test.
const childEnv = "RIGHTSIZE_E2E_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		// The test binary itself imported rightsize: hand the runtime back
		// so the tests start from the runtime's own settings.
		Undo()
	}
	os.Exit(m.Run())
}

func TestSettingsFromEnv(t *testing.T) {
	s := settingsFromEnv([]string{"RIGHTSIZE=off"})
	if !s.off {
		t.Error("RIGHTSIZE=off not honoured")
	}
	s = settingsFromEnv([]string{"RIGHTSIZE_LOG=off", "RIGHTSIZE_CPU_POLICY=floor", "RIGHTSIZE_MIN_PROCS=2",
		"RIGHTSIZE_MEMORY_RATIO=0.8", "RIGHTSIZE_MEMORY_RESERVE_BYTES=1000", "RIGHTSIZE_WATCH_INTERVAL=250ms",
		"RIGHTSIZE_GOMAXPROCS=off", "RIGHTSIZE_GOMEMLIMIT=off"})
	if s.off || !s.logOff || s.interval != 250*time.Millisecond || len(s.opts) != 6 || len(s.warnings) != 0 {
		t.Errorf("settings: %+v", s)
	}
	s = settingsFromEnv([]string{"RIGHTSIZE_CPU_POLICY=round", "RIGHTSIZE_MIN_PROCS=0", "RIGHTSIZE_MEMORY_RATIO=1.5",
		"RIGHTSIZE_MEMORY_RESERVE_BYTES=-1", "RIGHTSIZE_WATCH_INTERVAL=soon"})
	if len(s.warnings) != 5 || len(s.opts) != 0 || s.interval != time.Second {
		t.Errorf("invalid settings: %+v", s)
	}
	if s := settingsFromEnv([]string{"RIGHTSIZE_WATCH_INTERVAL=off"}); s.interval != 0 {
		t.Errorf("watch off: %v", s.interval)
	}
}

func TestStartOffDoesNothing(t *testing.T) {
	start([]string{"RIGHTSIZE=off"})
	Stop()
}
