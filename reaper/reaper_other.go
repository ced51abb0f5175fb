//go:build !linux

package reaper

import (
	"fmt"
	"runtime"
	"time"
)

// Outside Linux there is nothing to do: Start returns a Reaper that does
// nothing.
type sysState struct{}

func (s *sysState) start(*config, Mode) (string, error) {
	return "", fmt.Errorf("the reaper runs on Linux only, this is %s", runtime.GOOS)
}

func (s *sysState) close() {}

func (r *Reaper) scan() (int, error) { return 0, nil }

func (r *Reaper) loop(time.Duration) {}
