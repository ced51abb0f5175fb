package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server answers /work after delay(); it counts requests.
func server(t *testing.T, delay func() time.Duration) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if d := delay(); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done(): // client gone
			}
		}
		if r.URL.Path != "/work" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

func dial(t *testing.T, addr string, n int) []*Conn {
	var cs []*Conn
	for i := 0; i < n; i++ {
		c, err := Dial(addr, "/work")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

func TestClosedLoop(t *testing.T) {
	addr, n := server(t, func() time.Duration { return time.Millisecond })
	r := Closed(context.Background(), dial(t, addr, 4), 50*time.Millisecond, 300*time.Millisecond)
	if r.Completed == 0 || r.Errors != 0 {
		t.Fatalf("completed %d errors %d", r.Completed, r.Errors)
	}
	if r.Hist.Quantile(0.5) < int64(time.Millisecond) {
		t.Errorf("p50 %v below the server's 1 ms", time.Duration(r.Hist.Quantile(0.5)))
	}
	if int64(r.Completed) > n.Load() {
		t.Errorf("recorded %d of %d served", r.Completed, n.Load())
	}
	// 4 connections, >= 1 ms each: at most ~4000/s
	if r.RPS() > 4500 {
		t.Errorf("rps %v", r.RPS())
	}
}

// TestOpenLoopSeesTheStall: the server stalls once for 300 ms. A closed
// loop with 2 connections records 2 slow requests; the open loop at
// 500/s records every request that was due during the stall as slow (about
// 150 of them), because latency runs from the due time.
func TestOpenLoopSeesTheStall(t *testing.T) {
	var stalled atomic.Bool
	start := time.Now()
	addr, _ := server(t, func() time.Duration {
		if time.Since(start) > 300*time.Millisecond && !stalled.Swap(true) {
			return 300 * time.Millisecond
		}
		return 0
	})
	r := Open(context.Background(), dial(t, addr, 1), 500, 0, time.Second, time.Second)
	if r.Due < 450 || r.Due > 510 {
		t.Errorf("due %d, want about 500", r.Due)
	}
	if r.Completed+r.Errors+r.Unfinished != r.Due {
		t.Errorf("completed %d + errors %d + unfinished %d != due %d", r.Completed, r.Errors, r.Unfinished, r.Due)
	}
	slow := 0.0
	for _, q := range []float64{0.8, 0.9} {
		if time.Duration(r.Hist.Quantile(q)) > 50*time.Millisecond {
			slow = q
		}
	}
	if slow == 0 {
		t.Errorf("open loop hid the stall: p80 %v p90 %v p99 %v", time.Duration(r.Hist.Quantile(0.8)),
			time.Duration(r.Hist.Quantile(0.9)), time.Duration(r.Hist.Quantile(0.99)))
	}
	if r.Hist.Max() < int64(250*time.Millisecond) {
		t.Errorf("max %v", time.Duration(r.Hist.Max()))
	}
}

func TestOpenLoopUnfinishedAtDrain(t *testing.T) {
	addr, _ := server(t, func() time.Duration { return 50 * time.Millisecond })
	// 1 connection at 50 ms per request serves 20/s; 200/s are due.
	r := Open(context.Background(), dial(t, addr, 1), 200, 0, 500*time.Millisecond, 100*time.Millisecond)
	if r.Unfinished == 0 {
		t.Fatalf("nothing unfinished: %+v", r)
	}
	if r.Hist.Count() != r.Completed+r.Unfinished+r.Errors {
		t.Errorf("histogram %d, completed %d unfinished %d", r.Hist.Count(), r.Completed, r.Unfinished)
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	addr, _ := server(t, func() time.Duration { return 10 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	t0 := time.Now()
	Closed(ctx, dial(t, addr, 2), 0, 5*time.Second)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("closed loop took %v after cancel", d)
	}
}

func TestGetAndStatus(t *testing.T) {
	addr, _ := server(t, func() time.Duration { return 0 })
	if b, err := Get(addr, "/work", time.Second); err != nil || string(b) != "ok" {
		t.Fatalf("Get: %q %v", b, err)
	}
	if _, err := Get(addr, "/nope", time.Second); err == nil {
		t.Fatal("404 not reported")
	}
	c, _ := Dial(addr, "/nope")
	defer c.Close()
	if err := c.Do(); err != errStatus {
		t.Fatalf("Do on 404: %v", err)
	}
	if err := c.Do(); err != errStatus { // connection still usable
		t.Fatalf("second Do: %v", err)
	}
}
