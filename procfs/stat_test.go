package procfs

import "testing"

var statTests = []struct {
	name    string
	in      string
	want    ProcStat
	wantErr bool
}{
	{name: "zombie", in: "57 (sleep) Z 1 57 1 0 -1 4227084 76 0 0 0 0 0 0 0 20 0 1 0 185669 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		want: ProcStat{PID: 57, Comm: "sleep", State: 'Z', PPID: 1, NumThreads: 1, StartTime: 185669}},
	{name: "parentheses and spaces in comm", in: "1 (my (odd) srv) S 0 1 1 0 -1 4194560 2010 0 0 0 41 12 0 0 20 0 9 0 8812 1 2\n",
		want: ProcStat{PID: 1, Comm: "my (odd) srv", State: 'S', PPID: 0, NumThreads: 9, StartTime: 8812}},
	{name: "ends before starttime", in: "3 (x) R 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4",
		want: ProcStat{PID: 3, Comm: "x", State: 'R', PPID: 2, NumThreads: 4}},
	{name: "no comm", in: "3 x R 2", wantErr: true},
	{name: "bad pid", in: "x (a) R 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4", wantErr: true},
	{name: "bad state", in: "3 (a) RR 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4", wantErr: true},
	{name: "bad ppid", in: "3 (a) R -2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4", wantErr: true},
	{name: "short", in: "3 (a) R 2 0 0", wantErr: true},
	{name: "empty", in: "", wantErr: true},
}

func TestParseProcStat(t *testing.T) {
	for _, tt := range statTests {
		got, err := ParseProcStat([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, err=%v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	if !(ProcStat{State: 'Z'}).Zombie() || (ProcStat{State: 'S'}).Zombie() {
		t.Error("Zombie")
	}
}

func TestParseStatNoAlloc(t *testing.T) {
	in := []byte(statTests[0].in)
	if a := testing.AllocsPerRun(100, func() { _, _ = parseStat(in) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}

func FuzzParseProcStat(f *testing.F) {
	for _, tt := range statTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseProcStat(data)
		if err == nil && (s.PID <= 0 || s.PPID < 0 || s.NumThreads < 0) {
			t.Fatalf("bad values %+v", s)
		}
	})
}

func TestFSProcStat(t *testing.T) {
	fs := NewFS("testdata/proctable")
	s, err := fs.ProcStat("self")
	if err != nil || s.PID != 1 || s.Comm != "my server (v2)" || s.NumThreads != 9 || s.PPID != 0 {
		t.Errorf("got %+v, %v", s, err)
	}
	if _, err := fs.ProcStat("999"); err == nil {
		t.Error("missing process: no error")
	}
}
