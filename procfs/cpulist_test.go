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
