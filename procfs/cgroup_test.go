package procfs

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

var cgroupTests = []struct {
	name    string
	in      string
	want    []CgroupLine
	wantErr bool
}{
	{name: "v1 joined", in: "4:cpu,cpuacct:/docker/abc\n", want: []CgroupLine{{4, []string{"cpu", "cpuacct"}, "", "/docker/abc"}}},
	{name: "v1 joined reversed", in: "4:cpuacct,cpu:/docker/abc\n", want: []CgroupLine{{4, []string{"cpuacct", "cpu"}, "", "/docker/abc"}}},
	{name: "v2", in: "0::/some/path\n", want: []CgroupLine{{0, nil, "", "/some/path"}}},
	{name: "not v2", in: "1::/\n", want: []CgroupLine{{1, nil, "", "/"}}},
	{name: "colon in path", in: "0::/a/b:c\n", want: []CgroupLine{{0, nil, "", "/a/b:c"}}},
	{name: "namespace root", in: "0::/\n", want: []CgroupLine{{0, nil, "", "/"}}},
	{name: "outside namespace", in: "0::/../../x\n", want: []CgroupLine{{0, nil, "", "/../../x"}}},
	{name: "named hierarchy", in: "1:name=systemd:/user.slice\n", want: []CgroupLine{{1, nil, "systemd", "/user.slice"}}},
	{name: "no trailing newline", in: "0::/x", want: []CgroupLine{{0, nil, "", "/x"}}},
	{name: "hybrid", in: "12:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n",
		want: []CgroupLine{
			{12, []string{"memory"}, "", "/user.slice"},
			{4, []string{"cpu", "cpuacct"}, "", "/user.slice"},
			{1, nil, "systemd", "/user.slice/session-1.scope"},
			{0, nil, "", "/user.slice/session-1.scope"},
		}},
	{name: "empty", in: "", wantErr: true},
	{name: "only newline", in: "\n", wantErr: true},
	{name: "id only", in: "0", wantErr: true},
	{name: "one colon", in: "0:", wantErr: true},
	{name: "empty path", in: "0::", wantErr: true},
	{name: "relative path", in: "0::a", wantErr: true},
	{name: "bad id", in: "x::/", wantErr: true},
	{name: "negative id", in: "-1::/", wantErr: true},
	{name: "blank line inside", in: "0::/\n\n1:cpu:/\n", wantErr: true},
}

func TestParseCgroup(t *testing.T) {
	for _, tt := range cgroupTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCgroup([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseCgroup(%q) = %+v, want error", tt.in, got)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCgroup(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCgroup(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCgroupLineIsV2(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{{"0::/x", true}, {"1::/", false}, {"1:name=systemd:/", false}, {"0:cpu:/", false}} {
		lines, err := ParseCgroup([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := lines[0].IsV2(); got != tt.want {
			t.Errorf("%q IsV2 = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFSCgroupNamesFile(t *testing.T) {
	fs := NewFS("testdata/bad")
	_, err := fs.Cgroup("self")
	if err == nil {
		t.Fatal("want error for malformed file")
	}
	var pe *Error
	want, _ := filepath.Abs("testdata/bad/proc/self/cgroup")
	if !errors.As(err, &pe) || pe.Path != want {
		t.Fatalf("error %v does not name the file", err)
	}
	if _, err := NewFS("testdata/nonexistent").Cgroup("self"); err == nil || !errors.As(err, &pe) {
		t.Fatalf("missing file: got %v", err)
	}
}

func FuzzParseCgroup(f *testing.F) {
	for _, tt := range cgroupTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseCgroup(data)
		if err == nil {
			for _, l := range lines {
				if len(l.Path) == 0 || l.Path[0] != '/' {
					t.Fatalf("accepted relative path %q", l.Path)
				}
			}
		}
	})
}
