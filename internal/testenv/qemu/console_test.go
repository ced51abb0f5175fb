package qemu

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestConsoleStart: the start line is seen also when it arrives split
// across writes, and only the first time counts.
func TestConsoleStart(t *testing.T) {
	c := &consoleBuffer{start: []byte("RIGHTSIZE-VM-START x"), begin: time.Now()}
	_, _ = c.Write([]byte("[    1.0] booting\nRIGHTSIZE-VM-ST"))
	if !c.startTime().IsZero() {
		t.Fatal("start seen before the whole marker arrived")
	}
	_, _ = c.Write([]byte("ART x uptime=1.0s\n"))
	first := c.startTime()
	if first.IsZero() || c.bootTime() <= 0 {
		t.Fatalf("start split across writes not seen: start %v, boot %v", first, c.bootTime())
	}
	time.Sleep(2 * time.Millisecond)
	_, _ = c.Write([]byte("RIGHTSIZE-VM-START x again\n"))
	if !c.startTime().Equal(first) {
		t.Errorf("a second start line moved the start from %v to %v", first, c.startTime())
	}
}

// TestGuestHung: before /init starts the command nothing is hung (the boot
// deadline covers that); after, the guest is hung once neither the start
// nor its last heartbeat is within the grace.
func TestGuestHung(t *testing.T) {
	const grace = 60 * time.Second
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		what               string
		started, beat, now time.Time
		want               bool
	}{
		{"not started, long after", time.Time{}, time.Time{}, at(10 * time.Minute), false},
		{"not started, beating", time.Time{}, at(0), at(10 * time.Minute), false},
		{"started, no beat yet, within grace", at(0), time.Time{}, at(grace), false},
		{"started, never a beat, past grace", at(0), time.Time{}, at(grace + time.Second), true},
		{"beat 1s ago, started 5 min ago", at(0), at(299 * time.Second), at(300 * time.Second), false},
		{"beats stopped past grace", at(0), at(60 * time.Second), at(121 * time.Second), true},
		{"beats stopped, within grace", at(0), at(60 * time.Second), at(120 * time.Second), false},
		{"last beat before the start", at(100 * time.Second), at(0), at(150 * time.Second), false},
	} {
		if got := guestHung(tc.started, tc.beat, tc.now, grace); got != tc.want {
			t.Errorf("%s: guestHung = %v, want %v", tc.what, got, tc.want)
		}
	}
}

// TestHeartbeatWatch: a beat is the file growing; a missing file or one
// that did not grow is no beat.
func TestHeartbeatWatch(t *testing.T) {
	p := filepath.Join(t.TempDir(), "heartbeat")
	h := heartbeatWatch{path: p}
	t0 := time.Unix(1000, 0)
	if b := h.check(t0); !b.IsZero() {
		t.Fatalf("no file: beat %v, want none", b)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if b := h.check(t0.Add(time.Second)); !b.IsZero() {
		t.Fatalf("empty file: beat %v, want none", b)
	}
	if err := os.WriteFile(p, []byte(".."), 0o644); err != nil {
		t.Fatal(err)
	}
	if b := h.check(t0.Add(2 * time.Second)); !b.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("file grew: beat %v, want %v", b, t0.Add(2*time.Second))
	}
	if b := h.check(t0.Add(3 * time.Second)); !b.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("file did not grow: beat %v, want the earlier %v", b, t0.Add(2*time.Second))
	}
}
