package runtimeinfo

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestSettingsFromEnv(t *testing.T) {
	if s := settingsFromEnv([]string{"RIGHTSIZE=off"}); !s.off || len(s.opts) != 0 || len(s.invalid) != 0 {
		t.Errorf("RIGHTSIZE=off: %+v", s)
	}
	for _, v := range []string{"OFF", "0", "false", "no", "disabled", " off "} {
		if s := settingsFromEnv([]string{"RIGHTSIZE=" + v}); !s.off {
			t.Errorf("RIGHTSIZE=%q not off", v)
		}
	}
	if s := settingsFromEnv([]string{"RIGHTSIZE=on"}); s.off {
		t.Error("RIGHTSIZE=on is off")
	}

	all := []string{"RIGHTSIZE_LOG=off", "RIGHTSIZE_CPU_POLICY=Floor", "RIGHTSIZE_MIN_PROCS=2",
		"RIGHTSIZE_MEMORY_RATIO=0.8", "RIGHTSIZE_MEMORY_RESERVE_BYTES=1000", "RIGHTSIZE_WATCH_INTERVAL=250ms",
		"RIGHTSIZE_GOMAXPROCS=off", "RIGHTSIZE_GOMEMLIMIT=off"}
	s := settingsFromEnv(all)
	if s.off || len(s.opts) != 8 || len(s.invalid) != 0 {
		t.Errorf("settings: %+v", s)
	}
	c := defaultConfig()
	for _, o := range s.opts {
		o.apply(&c)
	}
	if !c.loggerSet || c.logger != nil || c.policy != PolicyFloor || c.minProcs != 2 || c.memRatio != 0.8 || c.memReserve != 1000 ||
		c.interval != 250*time.Millisecond || c.doProcs || c.doMem || len(c.errs) != 0 {
		t.Errorf("config from the settings: %+v", c)
	}

	bad := []string{"RIGHTSIZE_CPU_POLICY=round", "RIGHTSIZE_MIN_PROCS=0", "RIGHTSIZE_MEMORY_RATIO=1.5",
		"RIGHTSIZE_MEMORY_RESERVE_BYTES=-1", "RIGHTSIZE_WATCH_INTERVAL=soon", "RIGHTSIZE_GOMAXPROCS=maybe", "RIGHTSIZE_GOMEMLIMIT=2"}
	s = settingsFromEnv(bad)
	if len(s.invalid) != len(bad) || len(s.opts) != 0 {
		t.Errorf("invalid settings: %+v", s)
	}
	for _, b := range bad {
		name, _, _ := strings.Cut(b, "=")
		n := 0
		for _, w := range s.invalid {
			if strings.HasPrefix(w, name+"=") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d warnings name %s: %q", n, name, s.invalid)
		}
	}
	for v, want := range map[string]time.Duration{"off": 0, "0": 0, "2s": 2 * time.Second, "1ns": 1} {
		s := settingsFromEnv([]string{"RIGHTSIZE_WATCH_INTERVAL=" + v})
		c := defaultConfig()
		for _, o := range s.opts {
			o.apply(&c)
		}
		if c.interval != want || len(s.invalid) != 0 {
			t.Errorf("RIGHTSIZE_WATCH_INTERVAL=%s: %v (%v)", v, c.interval, s.invalid)
		}
	}
	// "on" is accepted and changes nothing; empty values are unset.
	if s := settingsFromEnv([]string{"RIGHTSIZE_GOMAXPROCS=on", "RIGHTSIZE_GOMEMLIMIT=1", "RIGHTSIZE_CPU_POLICY=", "RIGHTSIZE_MIN_PROCS= "}); len(s.opts) != 0 || len(s.invalid) != 0 {
		t.Errorf("on and empty values: %+v", s)
	}
}

// TestWithEnvConfig: the RIGHTSIZE_* settings apply, options given in code
// win over them, and an unusable value is one warning each, with the
// default used, never an error.
func TestWithEnvConfig(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)

	res, err := Recommend(WithRoot(f.root), WithEnvConfig(), WithEnviron([]string{"RIGHTSIZE_CPU_POLICY=floor", "RIGHTSIZE_MEMORY_RATIO=0.5"}))
	if err != nil || res.GOMAXPROCS.Want != 1 || res.GOMEMLIMIT.Want != 1<<27 {
		t.Errorf("settings: %v %d %d", err, res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want)
	}
	res, err = Recommend(WithRoot(f.root), WithEnvConfig(), WithEnviron([]string{"RIGHTSIZE_CPU_POLICY=floor", "RIGHTSIZE_MEMORY_RATIO=0.5"}), WithCPUPolicy(PolicyCeil))
	if err != nil || res.GOMAXPROCS.Want != 2 || res.GOMEMLIMIT.Want != 1<<27 {
		t.Errorf("code wins: %v %d %d", err, res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want)
	}
	// Without WithEnvConfig the settings are not read.
	res, err = Recommend(WithRoot(f.root), WithEnviron([]string{"RIGHTSIZE_CPU_POLICY=floor"}))
	if err != nil || res.GOMAXPROCS.Want != 2 {
		t.Errorf("without WithEnvConfig: %v %d", err, res.GOMAXPROCS.Want)
	}
	// Under a captured root they come from its environ file.
	f.write("proc/self/environ", "RIGHTSIZE_MIN_PROCS=6\x00")
	res, err = Recommend(WithRoot(f.root), WithEnvConfig())
	if err != nil || res.GOMAXPROCS.Want != 6 {
		t.Errorf("captured environment: %v %d", err, res.GOMAXPROCS.Want)
	}

	// Unusable values: one warning each, defaults used, for Tune and Start.
	env := []string{"RIGHTSIZE_CPU_POLICY=round", "RIGHTSIZE_MEMORY_RATIO=2", "RIGHTSIZE_MIN_PROCS=-3"}
	for _, entry := range []string{"Tune", "Start"} {
		logs := &logCapture{}
		opts := []Option{WithRoot(f.root), WithEnvConfig(), WithEnviron(env), logs.option(), oldGo(), WithInterval(0)}
		var res Result
		var err error
		switch entry {
		case "Tune":
			var undo func()
			res, undo, err = Tune(opts...)
			undo()
		case "Start":
			var tuner *Tuner
			res, tuner, err = Start(opts...)
			tuner.Undo()
		}
		if err != nil || res.GOMAXPROCS.Want != 2 || res.GOMEMLIMIT.Want != 241591910 {
			t.Errorf("%s with unusable settings: %v, %d %d; want the defaults", entry, err, res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want)
		}
		warns := logs.find(slog.LevelWarn, "the default is used")
		if len(warns) != 3 {
			t.Errorf("%s: %d warnings, want 3: %+v", entry, len(warns), logs.all())
		}
		for i, name := range []string{EnvCPUPolicy, EnvMinProcs, EnvMemoryRatio} {
			found := false
			for _, w := range warns {
				found = found || strings.Contains(w.Msg, name)
			}
			if !found {
				t.Errorf("%s: warning %d for %s missing", entry, i, name)
			}
		}
	}
	if runtime.GOMAXPROCS(0) != 5 || debug.SetMemoryLimit(-1) != 1<<63-1 {
		t.Errorf("undo: %d %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
}

// TestEnvConfigOff: RIGHTSIZE=off makes Start do nothing and return a nil
// Tuner, whose methods are safe.
func TestEnvConfigOff(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	f := newFixture(t, nil)
	logs := &logCapture{}
	res, tuner, err := Start(WithRoot(f.root), WithEnvConfig(), WithEnviron([]string{"RIGHTSIZE=off", "RIGHTSIZE_MIN_PROCS=x"}), logs.option())
	if err != nil || tuner != nil || res.GOMAXPROCS.Reason != "" || runtime.GOMAXPROCS(0) != 5 {
		t.Errorf("RIGHTSIZE=off: %v %v %+v", err, tuner, res)
	}
	if len(logs.all()) != 0 {
		t.Errorf("RIGHTSIZE=off logged %+v", logs.all())
	}
	tuner.Stop()
	tuner.Undo()
	if r := tuner.Result(); r.GOMAXPROCS.Reason != "" || tuner.Changes() != nil {
		t.Error("nil Tuner has results")
	}
	// RIGHTSIZE_LOG=off silences everything, warnings included.
	_, tuner, _ = Start(WithRoot(f.root), WithEnvConfig(), WithEnviron([]string{"RIGHTSIZE_LOG=off", "RIGHTSIZE_MIN_PROCS=x"}), WithInterval(0))
	tuner.Undo()
}

func TestIsOffOn(t *testing.T) {
	for _, v := range []string{"off", "OFF", "0", "false", "no", "disable", "disabled", "  Off\t"} {
		if !isOff(v) || isOn(v) {
			t.Errorf("%q: off %v on %v", v, isOff(v), isOn(v))
		}
	}
	for _, v := range []string{"on", "1", "true", "yes", "enable", "enabled", "ON"} {
		if isOff(v) || !isOn(v) {
			t.Errorf("%q: off %v on %v", v, isOff(v), isOn(v))
		}
	}
	for _, v := range []string{"", "2", "maybe"} {
		if isOff(v) || isOn(v) {
			t.Errorf("%q: off %v on %v", v, isOff(v), isOn(v))
		}
	}
}
