package procfs

import "testing"

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
