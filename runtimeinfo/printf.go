package runtimeinfo

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// WithPrintf sends the log lines to a printf-style function instead of a
// *slog.Logger, for programs that log with the standard log package or
// another library (automaxprocs' maxprocs.Logger(log.Printf) becomes
// runtimeinfo.WithPrintf(log.Printf)). Each line is the message followed by
// its attributes as key=value, e.g.
//
//	rightsize: GOMAXPROCS set setting=GOMAXPROCS value=2 previous=8 source="cgroup /sys/fs/cgroup/cpu.max" reason="..."
//
// nil silences the lines, as WithLogger(nil) does.
func WithPrintf(printf func(format string, args ...any)) Option {
	return optionFunc(func(c *config) {
		if printf == nil {
			c.logger, c.loggerSet = nil, true
			return
		}
		c.logger, c.loggerSet = slog.New(printfHandler{printf: printf}), true
	})
}

// printfHandler renders a record as one line for a printf function. The
// level is left out (warnings say what is wrong in their message).
type printfHandler struct {
	printf func(format string, args ...any)
	attrs  []slog.Attr
	group  string
}

func (h printfHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h printfHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		h.writeAttr(&b, h.group, a)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.printf("%s", b.String())
	return nil
}

func (h printfHandler) writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	if prefix != "" {
		key = prefix + "." + key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			h.writeAttr(b, key, g)
		}
		return
	}
	v := a.Value.String()
	if strings.ContainsAny(v, " =\"") || v == "" {
		v = strconv.Quote(v)
	}
	b.WriteString(" " + key + "=" + v)
}

func (h printfHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return h
}

func (h printfHandler) WithGroup(name string) slog.Handler {
	if h.group != "" {
		name = h.group + "." + name
	}
	h.group = name
	return h
}
