package cgroup

import (
	"errors"
	"strconv"

	"github.com/rightsize/rightsize/procfs"
)

// Option configures Open.
type Option interface{ apply(*options) error }

type options struct {
	root string
	pid  string
}

// defaultOptions holds every default of Open, in one place.
func defaultOptions() options { return options{root: procfs.DefaultRoot, pid: "self"} }

type rootOption string

func (r rootOption) apply(o *options) error { o.root = string(r); return nil }

// WithRoot reads every file below dir instead of "/": /proc/self/cgroup,
// /proc/self/mountinfo and the cgroup files at their mount points below
// dir, for fixture trees and captured bug reports. Every path, symbolic
// links included, resolves inside dir: nothing outside it is ever read.
// "" means "/".
func WithRoot(dir string) Option {
	if dir == "" {
		dir = procfs.DefaultRoot
	}
	return rootOption(dir)
}

type pidOption int

func (p pidOption) apply(o *options) error {
	if p <= 0 {
		return errors.New("cgroup: WithPID(" + strconv.Itoa(int(p)) + "): want a positive process ID")
	}
	o.pid = strconv.Itoa(int(p))
	return nil
}

// WithPID discovers the cgroups of another process (its /proc/<pid>/cgroup
// and mountinfo) instead of the calling one. Reading another process's files
// may need privileges.
func WithPID(pid int) Option { return pidOption(pid) }

func newOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return o, errors.New("cgroup: nil Option")
		}
		if err := opt.apply(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}
