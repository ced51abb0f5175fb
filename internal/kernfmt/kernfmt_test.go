package kernfmt

import (
	"strconv"
	"testing"
)

func TestParseUint(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"007", 7, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false}, // 2^64
		{"99999999999999999999", 0, false},
		{"000000000000000000001", 0, false}, // 21 digits
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1\n", 0, false},
		{"1.5", 0, false},
		{"max", 0, false},
	} {
		got, ok := ParseUint([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUint(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseUint(f *testing.F) {
	for _, s := range []string{"0", "18446744073709551615", "18446744073709551616", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseUint([]byte(s))
		want, err := strconv.ParseUint(s, 10, 64)
		// With base 10 strconv takes digits only, like the kernel's output.
		// ParseUint also refuses more than 20 digits (the kernel prints no
		// leading zeros), which strconv takes when they are zeros.
		wantOK := err == nil && len(s) <= 20
		if ok != wantOK || (ok && got != want) {
			t.Errorf("ParseUint(%q) = %d, %v; strconv: %d, %v", s, got, ok, want, err)
		}
	})
}

func TestParseUintAllocs(t *testing.T) {
	b := []byte("18446744073709551615")
	if n := testing.AllocsPerRun(100, func() { ParseUint(b) }); n != 0 {
		t.Errorf("ParseUint allocates %v times", n)
	}
}
