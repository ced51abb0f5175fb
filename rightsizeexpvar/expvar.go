// Package rightsizeexpvar publishes what rightsize sees through the
// standard library's expvar: the effective limits and their sources, usage,
// throttling, the GOMAXPROCS and GOMEMLIMIT in force and the environment,
// as one JSON value at /debug/vars.
//
// It is a package of its own because importing expvar registers the
// /debug/vars handler on http.DefaultServeMux: only programs that import
// this package get it, and nothing is published until they call Publish.
//
//	rightsizeexpvar.Publish(rightsizeexpvar.DefaultName)
//	// curl -s localhost:8080/debug/vars | jq .rightsize
//
// Standard library only (plus rightsize itself); for Prometheus see
// github.com/rightsize/rightsize/contrib/prometheus, which exports the
// same readings as metrics.
package rightsizeexpvar

import (
	"errors"
	"expvar"
	"math"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// DefaultName is the conventional name to publish under: the value appears
// as the "rightsize" key of /debug/vars.
const DefaultName = "rightsize"

// Vars is the published value.
type Vars struct {
	// GOMAXPROCS is runtime.GOMAXPROCS(0), the value in force.
	GOMAXPROCS int `json:"gomaxprocs"`
	// GOMEMLIMIT is the Go runtime's soft memory limit in force, in bytes;
	// nil when there is none (the runtime's math.MaxInt64 is not
	// published as a number).
	GOMEMLIMIT *int64 `json:"gomemlimit,omitempty"`
	// Environment is what detection concluded (without its evidence).
	Environment Environment `json:"environment"`
	// Snapshot is runtimeinfo.Read's: every effective value with its
	// source, usage statistics and the errors met.
	Snapshot runtimeinfo.Snapshot `json:"snapshot"`
}

// Environment is the conclusion of detect.Environment (or detect.Detect
// below another root) without the evidence list.
type Environment struct {
	Container    bool               `json:"container"`
	Runtime      string             `json:"runtime,omitempty"`
	Orchestrator string             `json:"orchestrator,omitempty"`
	Kubernetes   *detect.Kubernetes `json:"kubernetes,omitempty"`
}

// Read takes the value Publish publishes: a fresh runtimeinfo.Snapshot
// (taken with opts, e.g. runtimeinfo.WithRoot), the runtime settings in
// force and the environment. Values that could not be read are left out
// and listed in Snapshot.Errors.
func Read(opts ...runtimeinfo.Option) Vars {
	snap, _ := runtimeinfo.Read(opts...) // the errors are in snap.Errors
	v := Vars{GOMAXPROCS: runtime.GOMAXPROCS(0), Snapshot: snap}
	if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
		v.GOMEMLIMIT = &n
	}
	var env detect.Env
	if snap.Root == "" || procfs.NewFS(snap.Root).IsLive() {
		env = detect.Environment()
	} else {
		env = detect.Detect(detect.WithRoot(snap.Root))
	}
	v.Environment = Environment{Container: env.Container, Runtime: env.Runtime, Orchestrator: env.Orchestrator, Kubernetes: env.Kubernetes}
	return v
}

var mu sync.Mutex

// Publish publishes under name an expvar.Func whose value is Read(opts...)
// taken afresh each time it is read (each request to /debug/vars). Taking
// it discovers the cgroups and reads their files anew, some tens of
// microseconds: fine for a debug endpoint, not for a hot loop.
//
// It returns an error, instead of expvar's panic, when name is empty or
// already published.
func Publish(name string, opts ...runtimeinfo.Option) error {
	if name == "" {
		return errors.New("rightsizeexpvar: empty name")
	}
	mu.Lock()
	defer mu.Unlock()
	if expvar.Get(name) != nil {
		return errors.New("rightsizeexpvar: " + name + " is already published")
	}
	expvar.Publish(name, expvar.Func(func() any { return Read(opts...) }))
	return nil
}
