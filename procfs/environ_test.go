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
