package cgroup

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

var cpuMaxTests = []struct {
	in            string
	quota, period int64
	limited, err  bool
}{
	{"max 100000\n", 0, 100000, false, false},
	{"150000 100000\n", 150000, 100000, true, false},
	{"50000 100000", 50000, 100000, true, false},
	{"max", 0, 100000, false, false},
	{"50000\n", 50000, 100000, true, false},
	{"1000 1000000\n", 1000, 1000000, true, false},
	{"1 2 3\n", 0, 0, false, true},
	{"100 0\n", 0, 0, false, true},
	{"100 -5\n", 0, 0, false, true},
	{"123max 100000\n", 0, 0, false, true},
	{"0 100000\n", 0, 0, false, true},
	{"-1 100000\n", 0, 0, false, true},
	{"", 0, 0, false, true},
	{"max max\n", 0, 0, false, true},
}

func TestParseCPUMax(t *testing.T) {
	for _, tt := range cpuMaxTests {
		q, p, lim, err := parseCPUMax([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Errorf("parseCPUMax(%q) err = %v, want err=%v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("parseCPUMax(%q) err %v does not wrap ErrMalformed", tt.in, err)
			}
			continue
		}
		if q != tt.quota || p != tt.period || lim != tt.limited {
			t.Errorf("parseCPUMax(%q) = %d %d %v, want %d %d %v", tt.in, q, p, lim, tt.quota, tt.period, tt.limited)
		}
	}
}

func FuzzParseCPUMax(f *testing.F) {
	for _, tt := range cpuMaxTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, p, lim, err := parseCPUMax(data)
		if err == nil && (p <= 0 || (lim && q <= 0)) {
			t.Fatalf("accepted %q as quota %d period %d", data, q, p)
		}
	})
}

var maxOrIntTests = []struct {
	in      string
	v       int64
	limited bool
	err     bool
}{
	{"max\n", 0, false, false}, {"1073741824\n", 1073741824, true, false}, {"0\n", 0, true, false},
	{"-1\n", 0, false, true}, {"lots\n", 0, false, true}, {"", 0, false, true}, {"1 2", 0, false, true},
	{"99999999999999999999999\n", 0, false, true},
}

func TestParseMaxOrInt(t *testing.T) {
	for _, tt := range maxOrIntTests {
		v, lim, err := parseMaxOrInt([]byte(tt.in))
		if (err != nil) != tt.err || v != tt.v || lim != tt.limited {
			t.Errorf("parseMaxOrInt(%q) = %d %v %v", tt.in, v, lim, err)
		}
	}
}

func FuzzParseMaxOrInt(f *testing.F) {
	for _, tt := range maxOrIntTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, _, err := parseMaxOrInt(data); err == nil && v < 0 {
			t.Fatalf("negative %d", v)
		}
	})
}

func TestV1Unlimited(t *testing.T) {
	for _, tt := range []struct {
		v    int64
		want bool
	}{
		{9223372036854771712, true}, // 4 KiB pages
		{9223372036854710272, true}, // 64 KiB pages
		{9223372036854759424, true}, // 16 KiB pages
		{math.MaxInt64, true},
		{1 << 62, false},
		{268435456, false},
	} {
		if got := v1Unlimited(tt.v); got != tt.want {
			t.Errorf("v1Unlimited(%d) = %v", tt.v, got)
		}
	}
}

var flatKeyedTests = []struct {
	in  string
	sum uint64
	err bool
}{
	{"nr_periods 1\nnr_throttled 2\nthrottled_time 3\n", 6, false},
	{"a 1\n\nb 2", 3, false},
	{"total_rss -4096\n", 0, false}, // v1 per-cpu drift
	{"novalue\n", 0, true},
	{"a x\n", 0, true},
}

// sumCounters adds up the values of a flat keyed file the way the readers
// parse them: flatKeyed splits the lines, counter parses each value.
func sumCounters(data []byte) (uint64, error) {
	var sum uint64
	err := flatKeyed(data, func(k, v []byte) error {
		n, err := counter(k, v)
		sum += n
		return err
	})
	return sum, err
}

func TestFlatKeyed(t *testing.T) {
	for _, tt := range flatKeyedTests {
		sum, err := sumCounters([]byte(tt.in))
		if (err != nil) != tt.err || (!tt.err && sum != tt.sum) {
			t.Errorf("flatKeyed(%q) sum=%d err=%v", tt.in, sum, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("flatKeyed(%q) err %v does not wrap ErrMalformed", tt.in, err)
		}
	}
}

func FuzzFlatKeyed(f *testing.F) {
	for _, tt := range flatKeyedTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := sumCounters(data); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

var psiTests = []struct {
	in   string
	want PSI
	err  bool
}{
	{"some avg10=1.50 avg60=0.75 avg300=0.10 total=123456\nfull avg10=0.50 avg60=0.25 avg300=0.05 total=65432\n",
		PSI{Some: PSILine{Avg10: 1.5, Avg60: 0.75, Avg300: 0.1, Total: 123456 * time.Microsecond},
			Full: PSILine{Avg10: 0.5, Avg60: 0.25, Avg300: 0.05, Total: 65432 * time.Microsecond}, HasFull: true}, false},
	{"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PSI{}, false},
	{"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PSI{}, true},
	{"some avg10=x avg60=0.00 avg300=0.00 total=0\n", PSI{}, true},
	{"some avg10=0.00\n", PSI{}, true},
	{"other avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PSI{}, true},
	{"", PSI{}, true},
}

// PSI is procfs's (cgroup.PSI is an alias): the cgroup pressure files are
// parsed by procfs.ParsePSI.
func TestParsePSI(t *testing.T) {
	for _, tt := range psiTests {
		var p PSI
		err := procfs.ParsePSI([]byte(tt.in), &p)
		if (err != nil) != tt.err || (!tt.err && p != tt.want) {
			t.Errorf("parsePSI(%q) = %+v, %v", tt.in, p, err)
		}
	}
}

func FuzzParsePSI(f *testing.F) {
	for _, tt := range psiTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p PSI
		if err := procfs.ParsePSI(data, &p); err == nil && (p.Some.Avg10 < 0 || math.IsNaN(p.Some.Avg10) || p.Some.Total < 0 || p.Full.Total < 0) {
			t.Fatalf("bad avg %+v", p)
		}
	})
}

func TestMilliCPUConversions(t *testing.T) {
	// shares = millicores*1024/1000, minimum 2; the inversion is exact.
	for m := int64(1); m <= 64000; m++ {
		shares := uint64(m * 1024 / 1000)
		if shares < 2 {
			shares = 2
		}
		got := milliCPUFromShares(shares)
		// Requests under 3m all map to the minimum shares 2.
		if shares > 2 && got != m {
			t.Fatalf("milliCPUFromShares(%d) = %d, want %d", shares, got, m)
		}
	}
	if milliCPUFromShares(2) != 0 || milliCPUFromWeight(1) != 0 {
		t.Fatal("minimum weight is not 0")
	}
	// Shares above the kernel's cap of 2^18 read as the cap.
	if got, want := milliCPUFromShares(1<<20), milliCPUFromShares(1<<18); got != want || want != 256000 {
		t.Errorf("milliCPUFromShares(2^20) = %d, want the cap's %d (256000)", got, want)
	}
	// Newer runtimes: 1024 shares (1 CPU) -> weight 100.
	if got := milliCPUFromWeight(100); got != 1000 {
		t.Errorf("milliCPUFromWeight(100) = %d, want 1000", got)
	}
	// The largest weight is the largest request.
	if got := milliCPUFromWeight(10000); got != 256000 {
		t.Errorf("milliCPUFromWeight(10000) = %d, want 256000", got)
	}
	// Round trip through the newer curve: weights are whole numbers, so
	// small requests lose most (100m -> weight 18 -> 108m).
	for _, m := range []int64{100, 250, 500, 1500, 4000, 16000} {
		shares := float64(m) * 1024 / 1000
		l := math.Log2(shares)
		w := uint64(math.Ceil(math.Pow(10, (l*l+125*l)/612-7.0/34.0)))
		got := milliCPUFromWeight(w)
		if d := math.Abs(float64(got-m)) / float64(m); d > 0.10 {
			t.Errorf("m=%d -> weight %d -> %d (%.1f%% off)", m, w, got, d*100)
		}
	}
	// A larger weight never gives a smaller request.
	prev := int64(0)
	for w := uint64(1); w <= 10000; w++ {
		got := milliCPUFromWeight(w)
		if got < prev || got < 0 {
			t.Fatalf("milliCPUFromWeight(%d) = %d after %d", w, got, prev)
		}
		prev = got
	}
}

func TestContainsPath(t *testing.T) {
	for _, tt := range []struct {
		root, path string
		want       bool
	}{
		{"/", "/a", true}, {"/", "/", true}, {"/", "/../x", false}, {"/", "/..", false},
		{"/sandbox", "/sandbox/ctr", true}, {"/sandbox", "/sandbox", true}, {"/sand", "/sandbox/x", false},
		{"/../..", "/../../x", true}, {"/docker/abc", "/docker/abcd", false},
		// Below the mount root only plain names: "." or ".." would climb
		// or stay, and the kernel never writes them there.
		{"/", "/a/../b", false}, {"/", "/a/./b", false}, {"/", "/a/..", false},
		{"/..", "/../../../outside", false}, {"/..", "/../x", true}, {"/a", "/a/../../x", false},
	} {
		if got := containsPath([]byte(tt.root), []byte(tt.path)); got != tt.want {
			t.Errorf("containsPath(%q, %q) = %v", tt.root, tt.path, got)
		}
	}
}
