package qemu

import (
	"testing"
	"time"
)

// TestConsoleStall: a kernel stall message marks the guest as stalled,
// also when it arrives split across writes; other output does not.
func TestConsoleStall(t *testing.T) {
	c := &consoleBuffer{start: []byte("RIGHTSIZE-VM-START x"), begin: time.Now()}
	_, _ = c.Write([]byte("[    1.0] booting\n=== RUN   TestX\n--- PASS: TestX\n"))
	if !c.stallTime().IsZero() {
		t.Fatal("stall seen in ordinary output")
	}
	_, _ = c.Write([]byte("[   23.7] rcu: INFO: rcu_preempt detected st"))
	_, _ = c.Write([]byte("alls on CPUs/tasks:\n"))
	if c.stallTime().IsZero() {
		t.Fatal("RCU stall split across writes not seen")
	}
	d := &consoleBuffer{}
	_, _ = d.Write([]byte("watchdog: BUG: soft lockup - CPU#1 stuck for 22s!\n"))
	if d.stallTime().IsZero() {
		t.Fatal("soft lockup not seen")
	}
}

// TestConsoleLastOutput: every write is output, and its time is kept.
func TestConsoleLastOutput(t *testing.T) {
	c := &consoleBuffer{}
	if stall, last := c.stallAndLastOutput(); !stall.IsZero() || !last.IsZero() {
		t.Fatalf("before any output: stall %v, last output %v", stall, last)
	}
	before := time.Now()
	_, _ = c.Write([]byte("=== RUN   TestA\n"))
	_, first := c.stallAndLastOutput()
	if first.Before(before) {
		t.Fatalf("last output %v; want after %v", first, before)
	}
	time.Sleep(2 * time.Millisecond)
	// The kernel's stall report, and its repeats, are not progress.
	for i := 0; i < 2; i++ {
		_, _ = c.Write([]byte("[   42.000001] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n[   42.000002] Call Trace:\n"))
	}
	stall, last := c.stallAndLastOutput()
	if stall.Before(before) || !last.Equal(first) {
		t.Fatalf("after the stall report: stall %v, last output %v (was %v); want a stall and no progress", stall, last, first)
	}
	// A line split across writes counts once it starts outside the
	// kernel's format.
	time.Sleep(2 * time.Millisecond)
	_, _ = c.Write([]byte("[   43.0] partial"))
	_, _ = c.Write([]byte(" line continued\n"))
	if _, l := c.stallAndLastOutput(); !l.Equal(first) {
		t.Errorf("a kernel line split across writes counted as progress")
	}
	_, _ = c.Write([]byte("=== RUN   TestX\n"))
	if stall2, last := c.stallAndLastOutput(); !stall2.Equal(stall) || !last.After(first) {
		t.Errorf("after the guest's output: stall %v (was %v), last output %v (was %v)", stall2, stall, last, first)
	}
}

// TestGuestHung: a guest is hung only when it reported a stall and then
// printed nothing for the grace period; output after the stall, however
// long after it, keeps it running.
func TestGuestHung(t *testing.T) {
	const grace = 45 * time.Second
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		what        string
		stall, last time.Time
		now         time.Time
		want        bool
	}{
		{"no stall, silent for long", time.Time{}, at(0), at(10 * time.Minute), false},
		{"no stall, no output at all", time.Time{}, time.Time{}, at(10 * time.Minute), false},
		{"stall, silent since, within grace", at(0), at(0), at(grace), false},
		{"stall, silent since, past grace", at(0), at(0), at(grace + time.Second), true},
		{"stall, output since, recent", at(0), at(60 * time.Second), at(90 * time.Second), false},
		{"stall 5 min ago, output 1s ago", at(0), at(299 * time.Second), at(300 * time.Second), false},
		{"stall, output since, then silent past grace", at(0), at(60 * time.Second), at(106 * time.Second), true},
		{"stall, last output before it (not recorded)", at(10 * time.Second), at(0), at(50 * time.Second), false},
		{"stall, last output zero", at(0), time.Time{}, at(grace + time.Second), true},
	} {
		if got := guestHung(tc.stall, tc.last, tc.now, grace); got != tc.want {
			t.Errorf("%s: guestHung = %v, want %v", tc.what, got, tc.want)
		}
	}
}
