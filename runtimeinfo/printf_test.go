package runtimeinfo

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestWithPrintf(t *testing.T) {
	var lines []string
	var c config
	WithPrintf(func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }).apply(&c)
	lg := c.log()
	lg.Info("rightsize: GOMAXPROCS set", slog.Int64("value", 2), slog.String("reason", "limit 1.5 CPUs"), slog.Group("g", slog.Int("n", 1)))
	lg.With("k", "v").Warn("rightsize: x")
	want := []string{
		`rightsize: GOMAXPROCS set value=2 reason="limit 1.5 CPUs" g.n=1`,
		`rightsize: x k=v`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	WithPrintf(nil).apply(&c)
	if c.log() != nil {
		t.Error("WithPrintf(nil) does not silence")
	}
}
