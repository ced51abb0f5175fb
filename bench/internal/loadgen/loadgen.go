// Package loadgen drives an HTTP/1.1 server over keep-alive connections on
// loopback, in a closed loop (N connections, each sending its next request
// when the previous answer arrives) or an open loop (requests due at fixed
// intervals whatever the server does; latency counted from the time a
// request was due, so a stalled server cannot hide its tail by slowing the
// client down: no coordinated omission). Every latency goes into a
// histogram.
//
// The client is a minimal HTTP/1.1 implementation (one fixed GET, a
// Content-Length body): on a 2-core machine the load generator shares the
// CPUs with the server, and net/http's client costs several times more CPU
// per request.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rightsize/rightsize/bench/internal/hist"
)

// Conn is a keep-alive connection sending one fixed request.
type Conn struct {
	addr string
	req  []byte
	c    net.Conn
	br   *bufio.Reader
}

// Dial connects to addr (host:port) for GET path.
func Dial(addr, path string) (*Conn, error) {
	c := &Conn{addr: addr, req: []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: rightsize-bench\r\n\r\n")}
	return c, c.redial()
}

func (c *Conn) redial() error {
	if c.c != nil {
		c.c.Close()
	}
	nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		c.c = nil
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c.c = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	if c.c == nil {
		return nil
	}
	return c.c.Close()
}

// SetDeadline bounds the next requests.
func (c *Conn) SetDeadline(t time.Time) {
	if c.c != nil {
		_ = c.c.SetDeadline(t)
	}
}

var errStatus = errors.New("non-200 status")

// Do sends the request and reads the whole response. After an error the
// connection is redialled on the next call.
func (c *Conn) Do() error {
	if c.c == nil {
		if err := c.redial(); err != nil {
			return err
		}
	}
	if _, err := c.c.Write(c.req); err != nil {
		c.Close()
		c.c = nil
		return err
	}
	err := c.readResponse()
	if err != nil && !errors.Is(err, errStatus) {
		c.Close()
		c.c = nil
	}
	return err
}

func (c *Conn) readResponse() error {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return fmt.Errorf("bad status line %q", line)
	}
	ok := bytes.Equal(line[9:12], []byte("200"))
	n := -1
	closeAfter := false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(h) <= 2 { // "\r\n"
			break
		}
		k, v, found := bytes.Cut(h, []byte(":"))
		if !found {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err = strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")):
			closeAfter = bytes.EqualFold(v, []byte("close"))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return errors.New("chunked responses are not supported")
		}
	}
	if n < 0 {
		return errors.New("response without Content-Length")
	}
	if _, err := c.br.Discard(n); err != nil {
		return err
	}
	if closeAfter {
		c.Close()
		c.c = nil
	}
	if !ok {
		return errStatus
	}
	return nil
}

// Get fetches path once on a fresh connection and returns the body.
func Get(addr, path string, timeout time.Duration) ([]byte, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n := -1
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if len(h) <= 2 {
			break
		}
		k, v, _ := bytes.Cut([]byte(h), []byte(":"))
		if bytes.EqualFold(k, []byte("Content-Length")) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	var body []byte
	if n >= 0 {
		body = make([]byte, n)
		_, err = io.ReadFull(br, body)
	} else {
		body, err = io.ReadAll(br)
	}
	if err != nil {
		return nil, err
	}
	if len(status) < 12 || status[9:12] != "200" {
		return body, fmt.Errorf("GET %s: %s", path, bytes.TrimSpace([]byte(status)))
	}
	return body, nil
}

// Result is what one load phase measured.
type Result struct {
	Hist hist.Histogram
	// Window is the measured interval; Completed the requests started (closed)
	// or due (open) in it that got an answer, Errors those that failed.
	Window    time.Duration
	Completed uint64
	Errors    uint64
	// Open loop only: the rate asked for, how many requests were due in
	// the window, and how many of those had not been answered when the
	// drain ended (their latency is recorded as a lower bound: drain end
	// minus due time).
	Rate       float64
	Due        uint64
	Unfinished uint64
}

// RPS is completed requests per second of window.
func (r *Result) RPS() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Completed) / r.Window.Seconds()
}

type worker struct {
	h                     hist.Histogram
	completed, errs, late uint64
}

func (r *Result) merge(ws []*worker) {
	for _, w := range ws {
		r.Hist.Merge(&w.h)
		r.Completed += w.completed
		r.Errors += w.errs
		r.Unfinished += w.late
	}
}

// closeOnCancel closes every connection when ctx ends, unblocking reads.
func closeOnCancel(ctx context.Context, conns []*Conn) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			for _, c := range conns {
				c.SetDeadline(time.Now())
			}
		case <-done:
		}
	}()
	return func() { close(done) }
}

// Closed runs a closed loop on conns: warmup (not recorded), then dur
// recorded. A request is recorded when it started inside the window.
func Closed(ctx context.Context, conns []*Conn, warmup, dur time.Duration) *Result {
	stop := closeOnCancel(ctx, conns)
	defer stop()
	start := time.Now()
	ws, we := start.Add(warmup), start.Add(warmup+dur)
	workers := make([]*worker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		w := new(worker)
		workers[i] = w
		c.SetDeadline(we.Add(30 * time.Second))
		wg.Add(1)
		go func(c *Conn) {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(we) {
					return
				}
				err := c.Do()
				t1 := time.Now()
				if t0.Before(ws) {
					if err != nil {
						time.Sleep(time.Millisecond)
					}
					continue
				}
				if err != nil {
					w.errs++
					time.Sleep(time.Millisecond)
					continue
				}
				w.completed++
				w.h.Record(int64(t1.Sub(t0)))
			}
		}(c)
	}
	wg.Wait()
	r := &Result{Window: dur}
	r.merge(workers)
	return r
}

// Open runs an open loop: requests are due every 1/rate seconds from now
// for warmup+dur; those due during the last dur are recorded, with their
// latency measured from the time they were due. Up to len(conns) are in
// flight; the others wait in a queue, which counts in their latency. After
// the schedule ends the queue drains for at most drain; what is left then
// is recorded as unfinished with latency (drain end - due).
func Open(ctx context.Context, conns []*Conn, rate float64, warmup, dur, drain time.Duration) *Result {
	stop := closeOnCancel(ctx, conns)
	defer stop()
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now().Add(2 * time.Millisecond)
	ws, we := start.Add(warmup), start.Add(warmup+dur)
	deadline := we.Add(drain)
	total := int((warmup + dur) / interval)
	due := make(chan time.Time, total+1)
	workers := make([]*worker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		w := new(worker)
		workers[i] = w
		c.SetDeadline(deadline.Add(time.Second))
		wg.Add(1)
		go func(c *Conn) {
			defer wg.Done()
			for t := range due {
				rec := !t.Before(ws)
				if now := time.Now(); ctx.Err() != nil || now.After(deadline) {
					if rec {
						w.late++
						w.h.Record(int64(deadline.Sub(t)))
					}
					continue
				}
				err := c.Do()
				t1 := time.Now()
				if !rec {
					continue
				}
				switch {
				case err != nil && t1.After(deadline):
					w.late++
					w.h.Record(int64(t1.Sub(t)))
				case err != nil:
					w.errs++
				default:
					w.completed++
					w.h.Record(int64(t1.Sub(t)))
				}
			}
		}(c)
	}
	var nDue uint64
	for i := 0; i < total && ctx.Err() == nil; i++ {
		t := start.Add(time.Duration(i) * interval)
		if d := time.Until(t); d > 0 {
			time.Sleep(d)
		}
		if !t.Before(ws) {
			nDue++
		}
		due <- t
	}
	close(due)
	wg.Wait()
	r := &Result{Window: dur, Rate: rate, Due: nDue}
	r.merge(workers)
	return r
}
