package detect

import (
	"sync"
	"sync/atomic"
	"testing"
)

// stubLive replaces the live detection for one test and empties the cache.
func stubLive(t *testing.T, fn func() (Env, bool)) {
	t.Helper()
	reset := func() {
		cache.mu.Lock()
		cache.env = nil
		cache.done.Store(false)
		cache.mu.Unlock()
	}
	old := detectLive
	reset()
	detectLive = fn
	t.Cleanup(func() {
		detectLive = old
		reset()
	})
}

func TestEnvironmentCachesConclusiveOnly(t *testing.T) {
	var calls atomic.Int32
	var conclusive atomic.Bool
	stubLive(t, func() (Env, bool) {
		calls.Add(1)
		return Env{Container: true, Runtime: "docker", Evidence: []Evidence{{Signal: "dockerenv", Detail: "x"}}}, conclusive.Load()
	})

	// Inconclusive: every call tries again.
	for i := 1; i <= 3; i++ {
		if env := Environment(); env.Runtime != "docker" {
			t.Fatalf("Environment() = %+v", env)
		}
		if got := calls.Load(); got != int32(i) {
			t.Fatalf("after %d inconclusive calls, %d detections", i, got)
		}
	}
	// Conclusive: computed once more, then cached.
	conclusive.Store(true)
	Environment()
	Environment()
	InKubernetes()
	if got := calls.Load(); got != 4 {
		t.Fatalf("a conclusive result was not cached: %d detections", got)
	}
}

func TestEnvironmentReturnsCopies(t *testing.T) {
	stubLive(t, func() (Env, bool) {
		return Env{Container: true, HasKubernetes: true, Kubernetes: Kubernetes{PodUID: "p"}, Evidence: []Evidence{{Signal: "cgroup", Detail: "d"}}}, true
	})
	a := Environment()
	a.Kubernetes.PodUID = "changed"
	a.Evidence[0].Detail = "changed"
	b := Environment()
	if b.Kubernetes.PodUID != "p" || b.Evidence[0].Detail != "d" {
		t.Fatalf("the cache was changed through a returned value: %+v", b)
	}
	if !InKubernetes() {
		t.Fatalf("InKubernetes() = false")
	}
}

func TestEnvironmentConcurrent(t *testing.T) {
	var calls atomic.Int32
	stubLive(t, func() (Env, bool) {
		n := calls.Add(1)
		// The first two detections are inconclusive.
		return Env{Container: true, HasKubernetes: true}, n > 2
	})
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				if !InKubernetes() {
					t.Error("InKubernetes() = false")
				}
				return
			}
			if env := Environment(); !env.HasKubernetes {
				t.Error("Environment().Kubernetes = nil")
			}
		}(i)
	}
	wg.Wait()
	if got := calls.Load(); got != 3 {
		t.Errorf("%d detections, want 3 (two inconclusive, one cached)", got)
	}
}
