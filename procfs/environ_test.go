package procfs

import (
	"reflect"
	"testing"
)

var environTests = []struct {
	in   string
	want []string
}{
	{"A=1\x00B=2\x00", []string{"A=1", "B=2"}},
	{"A=1\x00\x00B=\x00", []string{"A=1", "B="}},
	{"NOEQ\x00A=x=y", []string{"NOEQ", "A=x=y"}},
	{"", nil},
}

func TestParseEnviron(t *testing.T) {
	for _, tt := range environTests {
		if got := ParseEnviron([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseEnviron(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGetenv(t *testing.T) {
	env := []string{"A=1", "AB=2", "A=3", "C"}
	if v, ok := Getenv(env, "A"); !ok || v != "3" {
		t.Errorf("A = %q %v", v, ok)
	}
	if _, ok := Getenv(env, "C"); ok {
		t.Error("C without = found")
	}
	if _, ok := Getenv(env, "B"); ok {
		t.Error("B found as prefix of AB")
	}
}

func FuzzParseEnviron(f *testing.F) {
	for _, tt := range environTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range ParseEnviron(data) {
			if e == "" {
				t.Fatal("empty entry")
			}
		}
	})
}

var oomTests = []struct {
	in      string
	want    int
	wantErr bool
}{
	{"-997\n", -997, false}, {"1000\n", 1000, false}, {"0", 0, false},
	{"1001\n", 0, true}, {"", 0, true}, {"x", 0, true},
}

func TestParseOOMScoreAdj(t *testing.T) {
	for _, tt := range oomTests {
		got, err := ParseOOMScoreAdj([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseOOMScoreAdj(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func FuzzParseOOMScoreAdj(f *testing.F) {
	for _, tt := range oomTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, err := ParseOOMScoreAdj(data); err == nil && (n < -1000 || n > 1000) {
			t.Fatalf("out of range %d", n)
		}
	})
}

func TestFSReaders(t *testing.T) {
	fs := NewFS("testdata/hybrid")
	if _, err := fs.Meminfo(); err == nil {
		t.Error("missing meminfo: want error")
	}
	live := NewFS("")
	if !live.IsLive() || live.Root() != "/" {
		t.Fatal("zero root is not live")
	}
	if (FS{}).Root() != "/" {
		t.Fatal("zero FS root")
	}
	if NewFS("testdata/hybrid").IsLive() {
		t.Fatal("fixture root reported live")
	}
}

func TestReadFileTooLarge(t *testing.T) {
	_, err := NewFS("testdata").ReadFile("hybrid/proc/self/mountinfo", 10)
	if err == nil {
		t.Fatal("want ErrTooLarge")
	}
}
