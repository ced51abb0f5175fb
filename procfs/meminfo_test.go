package procfs

import "testing"

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
