package rightsizeexpvar_test

import (
	"encoding/json"
	"expvar"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

var fixture = filepath.Join("..", "cgroup", "testdata", "v2-nested")

// Importing the package publishes nothing: only Publish does.
func TestNothingPublishedWithoutPublish(t *testing.T) {
	expvar.Do(func(kv expvar.KeyValue) {
		if strings.HasPrefix(kv.Key, "rightsize") {
			t.Errorf("%s published without a call to Publish", kv.Key)
		}
	})
}

// The value served at /debug/vars under the name is the snapshot of the
// fixture (expected values: cgroup/fixtures_test.go, "v2-nested"), with
// the runtime settings in force.
func TestPublishServesSnapshot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	old := debug.SetMemoryLimit(300 << 20)
	defer debug.SetMemoryLimit(old)
	if err := rightsizeexpvar.Publish("rightsize_test_fixture", runtimeinfo.WithRoot(fixture)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(expvar.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	raw, ok := all["rightsize_test_fixture"]
	if !ok {
		t.Fatalf("not in /debug/vars")
	}
	var v rightsizeexpvar.Vars
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	s := v.Snapshot
	if v.GOMAXPROCS != runtime.GOMAXPROCS(0) {
		t.Errorf("gomaxprocs = %d", v.GOMAXPROCS)
	}
	if v.GOMEMLIMIT == nil || *v.GOMEMLIMIT != 300<<20 {
		t.Errorf("gomemlimit = %v, want %d", v.GOMEMLIMIT, 300<<20)
	}
	if s.Layout != "v2" {
		t.Errorf("layout = %q", s.Layout)
	}
	if s.CPULimit == nil || s.CPULimit.CPUs != 2 || !strings.HasSuffix(s.CPULimit.Source.File, "/sys/fs/cgroup/a/cpu.max") {
		t.Errorf("cpu_limit = %+v, want 2 from /a/cpu.max", s.CPULimit)
	}
	if s.MemoryLimit == nil || s.MemoryLimit.Bytes != 524288000 {
		t.Errorf("memory_limit = %+v", s.MemoryLimit)
	}
	if s.MemoryHigh == nil || s.MemoryHigh.Bytes != 1073741824 {
		t.Errorf("memory_high = %+v", s.MemoryHigh)
	}
	if s.PIDsLimit == nil || s.PIDsLimit.N != 200 {
		t.Errorf("pids_limit = %+v", s.PIDsLimit)
	}
	st := s.Stats
	if st.CPU.Usage != 2500*time.Millisecond || st.CPU.Throttling.ThrottledPeriods != 5 ||
		st.Memory.WorkingSet != 209715200-52428800 || st.PIDs.Current != 12 {
		t.Errorf("stats = %+v", st)
	}
	if v.Environment.Container || v.Environment.Kubernetes != nil {
		t.Errorf("environment = %+v, want a host", v.Environment)
	}
	// The top-level keys of the value (the snapshot's own are
	// runtimeinfo's, decoded above).
	for _, key := range []string{`"gomaxprocs"`, `"gomemlimit"`, `"environment"`, `"snapshot"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("no %s in %s", key, raw)
		}
	}
}

// An unset GOMEMLIMIT is absent, not math.MaxInt64.
func TestNoMemoryLimitIsAbsent(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	v := rightsizeexpvar.Read()
	if v.GOMEMLIMIT != nil {
		t.Errorf("gomemlimit = %d, want nil", *v.GOMEMLIMIT)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"gomemlimit"`) || strings.Contains(string(b), "9223372036854775807") {
		t.Errorf("unlimited leaked into the JSON: %s", b)
	}
}

// Publish refuses what expvar would panic on.
func TestPublishErrors(t *testing.T) {
	if err := rightsizeexpvar.Publish(""); err == nil {
		t.Error("empty name accepted")
	}
	if err := rightsizeexpvar.Publish("rightsize_test_twice"); err != nil {
		t.Fatal(err)
	}
	if err := rightsizeexpvar.Publish("rightsize_test_twice"); err == nil {
		t.Error("second Publish under the same name accepted")
	}
	expvar.NewInt("rightsize_test_taken")
	if err := rightsizeexpvar.Publish("rightsize_test_taken"); err == nil {
		t.Error("a name taken by another variable accepted")
	}
}

// The live value reads without panicking whatever the machine; its
// errors are listed, not fatal.
func TestReadLive(t *testing.T) {
	v := rightsizeexpvar.Read()
	if v.GOMAXPROCS < 1 || v.Snapshot.CPUs.N < 1 {
		t.Errorf("live: %+v", v)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
}
