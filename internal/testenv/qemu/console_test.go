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
