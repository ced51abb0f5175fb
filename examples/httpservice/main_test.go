package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// /debug/rightsize reports the blank import's decisions and the snapshot
// they were made from.
func TestDebugRightsize(t *testing.T) {
	rec := httptest.NewRecorder()
	debugRightsize(rec, httptest.NewRequest(http.MethodGet, "/debug/rightsize", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var out struct {
		Active     bool `json:"active"`
		GOMAXPROCS int  `json:"gomaxprocs"`
		Decisions  []struct {
			Setting string `json:"setting"`
			Value   *int64 `json:"value"`
			Reason  string `json:"reason"`
		} `json:"decisions"`
		Snapshot map[string]json.RawMessage `json:"snapshot"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v\n%s", err, rec.Body)
	}
	if out.GOMAXPROCS != runtime.GOMAXPROCS(0) {
		t.Errorf("gomaxprocs %d", out.GOMAXPROCS)
	}
	if runtime.GOOS == "linux" && !out.Active {
		t.Skipf("the blank import did nothing here:\n%s", rec.Body)
	}
	if out.Active {
		if len(out.Decisions) != 2 || out.Decisions[0].Setting != "GOMAXPROCS" || out.Decisions[1].Setting != "GOMEMLIMIT" ||
			out.Decisions[0].Value == nil || out.Decisions[0].Reason == "" {
			t.Errorf("decisions %+v", out.Decisions)
		}
		for _, k := range []string{"cgroupLayout", "cpus", "cpuLimit", "memoryLimit", "errors"} {
			if _, ok := out.Snapshot[k]; !ok {
				t.Errorf("snapshot has no %q: %s", k, rec.Body)
			}
		}
	}
	t.Logf("%s", rec.Body)
}
