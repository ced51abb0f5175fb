package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

func TestOOMScoreAdjTooLarge(t *testing.T) {
	// oom_score_adj is read with a 64-byte bound: a longer file is
	// refused, not read.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proc/self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc/self/oom_score_adj"), []byte(strings.Repeat("1", 65)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFS(dir).OOMScoreAdj("self"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}
