package runtimeinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentReadsDuringWatch: snapshots, recommendations and tunes from
// many goroutines while a watcher follows a tree the test keeps resizing.
// Run with -race; the assertions are that nothing fails or races and every
// snapshot shows one of the limits written.
func TestConcurrentReadsDuringWatch(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil)
	startWatch(t, 5*time.Millisecond, WithRoot(f.root), quiet(), withMode("go1.24.11", ""))

	f.write("sys/fs/cgroup/pod/app/cpu.max", "100000 100000\n")
	file, err := os.OpenFile(filepath.Join(f.root, "sys/fs/cgroup/pod/app/cpu.max"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Rewrite in place with one write of the same length, as the
			// kernel's files change: never empty, never truncated.
			if _, err := file.WriteAt([]byte(fmt.Sprintf("%d 100000\n", 100000*(1+i%3))), 0); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				snap, err := Read(WithRoot(f.root))
				if err != nil {
					errs <- err
					return
				}
				if snap.CPULimit == nil || snap.CPULimit.CPUs < 1 || snap.CPULimit.CPUs > 3 {
					errs <- fmt.Errorf("snapshot CPU limit %+v", snap.CPULimit)
					return
				}
				if g%2 == 0 {
					if _, err := Recommend(WithRoot(f.root), quiet()); err != nil {
						errs <- err
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	writer.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
