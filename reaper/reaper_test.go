package reaper

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	if _, err := Start(WithInterval(-time.Second)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("negative interval: %v", err)
	}
	c, _ := newConfig([]Option{WithInterval(time.Millisecond)})
	if c.interval != MinInterval {
		t.Errorf("1ms raised to %v, want %v", c.interval, MinInterval)
	}
	c, _ = newConfig(nil)
	if c.interval != DefaultInterval {
		t.Errorf("default interval %v", c.interval)
	}
	for _, tt := range []struct {
		env  []string
		all  bool
		want Mode
		note bool
	}{
		{nil, false, ModeOrphans, false},
		{nil, true, ModeAll, false},
		{[]string{"RIGHTSIZE_REAPER=off"}, true, ModeOff, false},
		{[]string{"RIGHTSIZE_REAPER=0"}, false, ModeOff, false},
		{[]string{"RIGHTSIZE_REAPER=on"}, true, ModeOrphans, false},
		{[]string{"RIGHTSIZE_REAPER=ALL"}, false, ModeAll, false},
		{[]string{"RIGHTSIZE_REAPER=all", "RIGHTSIZE_REAPER=off"}, false, ModeOff, false},
		{[]string{"RIGHTSIZE_REAPER=maybe"}, false, ModeOrphans, true},
	} {
		c, _ := newConfig([]Option{WithEnviron(tt.env), WithReapAll(tt.all)})
		m, _, note := c.mode()
		if m != tt.want || (note != "") != tt.note {
			t.Errorf("env %q all %v: mode %v note %q; want %v", tt.env, tt.all, m, note, tt.want)
		}
	}
	for m, s := range map[Mode]string{ModeOff: "off", ModeOrphans: "orphans", ModeAll: "all", 7: "Mode(7)"} {
		if m.String() != s {
			t.Errorf("%d: %q", int(m), m.String())
		}
	}
}

func TestSwitchedOff(t *testing.T) {
	r, err := Start(WithEnviron([]string{EnvReaper + "=" + EnvOff}), WithSubreaper(true))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.Active() || !strings.Contains(r.Reason(), "RIGHTSIZE_REAPER=off") {
		t.Errorf("active %v, reason %q", r.Active(), r.Reason())
	}
	if active, reason := Status(); active || reason != r.Reason() {
		t.Errorf("Status %v %q", active, reason)
	}
	if n, err := r.ReapNow(); n != 0 || err != nil {
		t.Errorf("ReapNow on an inactive reaper: %d, %v", n, err)
	}
}

func TestNilReaper(t *testing.T) {
	var r *Reaper
	r.Stop()
	if r.Active() || r.Reaped() != 0 || r.Mode() != ModeOff || r.Stats().Active || r.Reason() == "" {
		t.Error("nil reaper")
	}
}
