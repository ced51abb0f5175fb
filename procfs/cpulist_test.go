package procfs

import (
	"strings"
	"testing"
)

var cpuListTests = []struct {
	in      string
	want    int
	wantErr bool
}{
	{"0", 1, false}, {"0-3", 4, false}, {"0-3,8", 5, false}, {"0-3,8,10-11\n", 7, false},
	{"", 0, false}, {" \n", 0, false}, {"1,0", 2, false}, {"0-3,2-5", 6, false},
	{"4-7,0-5,2", 8, false}, {"10-12,0,11-20,5-5", 13, false},
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

// TestParseCPUListManyOverlaps: 64 overlapping ranges out of order, each
// as large as a CPU list may be, are counted once each and quickly (a
// merge CPU by CPU took about a second on such input, found by fuzzing).
func TestParseCPUListManyOverlaps(t *testing.T) {
	parts := make([]string, 64)
	for i := range parts {
		parts[i] = "1-65536"
	}
	parts[0] = "0-65535"
	in := []byte(strings.Join(parts, ","))
	if got, err := ParseCPUList(in); err != nil || got != 65537 {
		t.Errorf("ParseCPUList(64 overlapping ranges) = %d, %v; want 65537", got, err)
	}
	if n := testing.AllocsPerRun(10, func() { _, _ = ParseCPUList(in) }); n != 0 {
		t.Errorf("%v allocs", n)
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
		if err != nil {
			return
		}
		if n < 0 || n > maxCPUID+1 {
			t.Fatalf("count %d out of range", n)
		}
		// The count is the number of distinct CPUs the list names.
		var seen [maxCPUID + 1]bool
		want := 0
		for _, item := range strings.Split(strings.TrimSpace(string(data)), ",") {
			if item == "" {
				continue // only "" as a whole list is accepted
			}
			lo, hi, err := parseRange([]byte(item))
			if err != nil {
				t.Fatalf("ParseCPUList(%q) accepted an item parseRange refuses: %q", data, item)
			}
			for c := lo; c <= hi; c++ {
				if !seen[c] {
					seen[c] = true
					want++
				}
			}
		}
		if n != want {
			t.Fatalf("ParseCPUList(%q) = %d, want %d distinct CPUs", data, n, want)
		}
	})
}
