package procfs

import "testing"

var cpuListTests = []struct {
	in      string
	want    int
	wantErr bool
}{
	{"0", 1, false}, {"0-3", 4, false}, {"0-3,8", 5, false}, {"0-3,8,10-11\n", 7, false},
	{"", 0, false}, {" \n", 0, false}, {"1,0", 2, false}, {"0-3,2-5", 6, false},
	{"0-", 0, true}, {"-1", 0, true}, {"3-1", 0, true}, {"a", 0, true}, {"0,,1", 0, true}, {"99999999", 0, true},
}

func TestParseCPUList(t *testing.T) {
	for _, tt := range cpuListTests {
		got, err := ParseCPUList([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCPUList(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseCPUListNoAlloc(t *testing.T) {
	in := []byte("0-3,8,10-11\n")
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseCPUList(in) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, tt := range cpuListTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseCPUList(data)
		if err == nil && (n < 0 || n > maxCPUID+1) {
			t.Fatalf("count %d out of range", n)
		}
	})
}

var statusTests = []struct {
	name    string
	in      string
	want    Status
	wantErr bool
}{
	{name: "typical", in: "Name:\tfoo\nThreads:\t12\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\n", want: Status{Threads: 12, CPUsAllowed: 4, CPUsAllowedList: "0-3"}},
	{name: "threads only", in: "Threads:\t1\n", want: Status{Threads: 1}},
	{name: "bad threads", in: "Threads:\tx\n", wantErr: true},
	{name: "bad list", in: "Cpus_allowed_list:\t0-\n", wantErr: true},
	{name: "neither", in: "Name:\tfoo\n", wantErr: true},
	{name: "empty", in: "", wantErr: true},
}

func TestParseStatus(t *testing.T) {
	for _, tt := range statusTests {
		got, err := ParseStatus([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, err=%v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, tt := range statusTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStatus(data)
		if err == nil && (s.Threads < 0 || s.CPUsAllowed < 0) {
			t.Fatalf("negative count %+v", s)
		}
	})
}

var meminfoTests = []struct {
	name    string
	in      string
	want    Meminfo
	wantErr bool
}{
	{name: "typical", in: "MemTotal:       24608760 kB\nMemFree:        1 kB\nMemAvailable:   2048 kB\n", want: Meminfo{MemTotal: 24608760 * 1024, MemAvailable: 2048 * 1024}},
	{name: "no available", in: "MemTotal: 1024 kB\n", want: Meminfo{MemTotal: 1024 * 1024}},
	{name: "no total", in: "MemFree: 1 kB\n", wantErr: true},
	{name: "bad value", in: "MemTotal: x kB\n", wantErr: true},
	{name: "bad unit", in: "MemTotal: 1 MB\n", wantErr: true},
	{name: "overflow", in: "MemTotal: 9223372036854775807 kB\n", wantErr: true},
}

func TestParseMeminfo(t *testing.T) {
	for _, tt := range meminfoTests {
		got, err := ParseMeminfo([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, err=%v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseMeminfo(f *testing.F) {
	for _, tt := range meminfoTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMeminfo(data)
		if err == nil && m.MemTotal < 0 {
			t.Fatalf("negative MemTotal %+v", m)
		}
	})
}
