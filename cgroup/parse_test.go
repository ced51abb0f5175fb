package cgroup

import (
	"errors"
	"math"
	"testing"
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

func TestFlatKeyed(t *testing.T) {
	for _, tt := range flatKeyedTests {
		var sum uint64
		err := flatKeyed([]byte(tt.in), func(_ []byte, v uint64) { sum += v })
		if (err != nil) != tt.err || (!tt.err && sum != tt.sum) {
			t.Errorf("flatKeyed(%q) sum=%d err=%v", tt.in, sum, err)
		}
	}
}

func FuzzFlatKeyed(f *testing.F) {
	for _, tt := range flatKeyedTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = flatKeyed(data, func([]byte, uint64) {})
	})
}

var psiTests = []struct {
	in   string
	want PSI
	err  bool
}{
	{"some avg10=1.50 avg60=0.75 avg300=0.10 total=123456\nfull avg10=0.50 avg60=0.25 avg300=0.05 total=65432\n",
		PSI{Some: PSILine{1.5, 0.75, 0.1, 123456}, Full: PSILine{0.5, 0.25, 0.05, 65432}, HasFull: true}, false},
	{"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PSI{}, false},
	{"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PSI{}, true},
	{"some avg10=x avg60=0.00 avg300=0.00 total=0\n", PSI{}, true},
	{"some avg10=0.00\n", PSI{}, true},
	{"other avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PSI{}, true},
	{"", PSI{}, true},
}

func TestParsePSI(t *testing.T) {
	for _, tt := range psiTests {
		var p PSI
		err := parsePSI([]byte(tt.in), &p)
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
		if err := parsePSI(data, &p); err == nil && (p.Some.Avg10 < 0 || math.IsNaN(p.Some.Avg10)) {
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
		got := MilliCPUFromShares(shares)
		// Requests under 3m all map to the minimum shares 2.
		if shares > 2 && got != m {
			t.Fatalf("MilliCPUFromShares(%d) = %d, want %d", shares, got, m)
		}
	}
	if MilliCPUFromShares(2) != 0 || MilliCPUFromWeight(1) != 0 || MilliCPUFromWeightLinear(1) != 0 {
		t.Fatal("minimum weight is not 0")
	}
	// Newer runtimes: 1024 shares (1 CPU) -> weight 100.
	if got := MilliCPUFromWeight(100); got != 1000 {
		t.Errorf("MilliCPUFromWeight(100) = %d, want 1000", got)
	}
	// Older linear conversion: 1024 shares -> weight 39. One weight step
	// spans about 26 shares, so the inversion is within 26m.
	if got := MilliCPUFromWeightLinear(39); got < 974 || got > 1026 {
		t.Errorf("MilliCPUFromWeightLinear(39) = %d, want 1000±26", got)
	}
	// Round trip through the newer curve: weights are whole numbers, so
	// small requests lose most (100m -> weight 18 -> 108m).
	for _, m := range []int64{100, 250, 500, 1500, 4000, 16000} {
		shares := float64(m) * 1024 / 1000
		l := math.Log2(shares)
		w := uint64(math.Ceil(math.Pow(10, (l*l+125*l)/612-7.0/34.0)))
		got := MilliCPUFromWeight(w)
		if d := math.Abs(float64(got-m)) / float64(m); d > 0.10 {
			t.Errorf("m=%d -> weight %d -> %d (%.1f%% off)", m, w, got, d*100)
		}
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
	} {
		if got := containsPath([]byte(tt.root), []byte(tt.path)); got != tt.want {
			t.Errorf("containsPath(%q, %q) = %v", tt.root, tt.path, got)
		}
	}
}
