package procfs

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

var mountinfoLineTests = []struct {
	name    string
	in      string
	want    MountInfo
	wantErr bool
}{
	{
		name: "man page example",
		in:   "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
		want: MountInfo{ID: 36, ParentID: 35, MajorMinor: "98:0", Root: "/mnt1", MountPoint: "/mnt2", Options: "rw,noatime",
			Optional: []string{"master:1"}, FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"},
	},
	{
		name: "no optional fields",
		in:   "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
		want: MountInfo{ID: 32, ParentID: 31, MajorMinor: "0:29", Root: "/", MountPoint: "/sys/fs/cgroup/cpu", Options: "rw,relatime",
			FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,cpu"},
	},
	{
		name: "several and unknown optional fields",
		in:   "1 2 0:1 /docker/abc /sys/fs/cgroup/memory ro shared:5 master:1 propagate_from:2 unbindable future:9 - cgroup cgroup rw,memory",
		want: MountInfo{ID: 1, ParentID: 2, MajorMinor: "0:1", Root: "/docker/abc", MountPoint: "/sys/fs/cgroup/memory", Options: "ro",
			Optional: []string{"shared:5", "master:1", "propagate_from:2", "unbindable", "future:9"}, FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,memory"},
	},
	{
		name: "escapes",
		in:   `5 1 0:2 /a\040b\011c\012d\134e /mnt/x\040y rw - cgroup2 cgroup2 rw`,
		want: MountInfo{ID: 5, ParentID: 1, MajorMinor: "0:2", Root: "/a b\tc\nd\\e", MountPoint: "/mnt/x y", Options: "rw",
			FSType: "cgroup2", Source: "cgroup2", SuperOptions: "rw"},
	},
	{
		name: "spaces in super options (WSL 9p)",
		in:   `90 80 0:50 / /mnt/c rw,noatime - 9p C:\134 rw,dirsync,aname=drvfs;path=C:\;uid=0;symlinkroot=/mnt/,mmap,trans=fd,rfd=5,wfd=5 path=C:\Program Files\x`,
		want: MountInfo{ID: 90, ParentID: 80, MajorMinor: "0:50", Root: "/", MountPoint: "/mnt/c", Options: "rw,noatime",
			FSType: "9p", Source: `C:\134`, SuperOptions: `rw,dirsync,aname=drvfs;path=C:\;uid=0;symlinkroot=/mnt/,mmap,trans=fd,rfd=5,wfd=5 path=C:\Program Files\x`},
	},
	{
		name: "root outside namespace",
		in:   "40 31 0:38 /../.. /cgroup-in rw - cgroup2 cgroup2 rw",
		want: MountInfo{ID: 40, ParentID: 31, MajorMinor: "0:38", Root: "/../..", MountPoint: "/cgroup-in", Options: "rw", FSType: "cgroup2", Source: "cgroup2", SuperOptions: "rw"},
	},
	{name: "no separator", in: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw", wantErr: true},
	{name: "too few fields", in: "36 35 98:0 /mnt1", wantErr: true},
	{name: "bad id", in: "x 35 98:0 / / rw - ext3 a rw", wantErr: true},
	{name: "nothing after separator", in: "36 35 98:0 / / rw -", wantErr: true},
	{name: "empty", in: "", wantErr: true},
}

func TestParseMountInfoLine(t *testing.T) {
	for _, tt := range mountinfoLineTests {
		t.Run(tt.name, func(t *testing.T) {
			var v MountInfoView
			err := parseMountInfoLine([]byte(tt.in), &v)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", v.Copy())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Copy(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got\n %#v\nwant\n %#v", got, tt.want)
			}
		})
	}
}

func TestParseMountInfoSkipsBadLines(t *testing.T) {
	long := "99 1 0:9 / /long rw - overlay overlay rw,lowerdir=" + strings.Repeat("/l:", 30000) + "\n"
	in := "1 0 0:1 / / rw - ext4 /dev/vda rw\n" +
		"garbage line\n" +
		long +
		"2 1 0:2 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	mounts, skipped := ParseMountInfo([]byte(in))
	if skipped != 2 {
		t.Errorf("skipped = %d, want 2 (garbage and over-long)", skipped)
	}
	if len(mounts) != 2 || mounts[0].MountPoint != "/" || mounts[1].MountPoint != "/sys/fs/cgroup" {
		t.Fatalf("mounts = %+v", mounts)
	}
}

// oneByteReader returns one byte per Read to exercise buffer refills.
type oneByteReader struct{ r *bytes.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

func TestScanMountInfoRefills(t *testing.T) {
	in := "1 0 0:1 / / rw - ext4 /dev/vda rw\n2 1 0:2 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
	var got []string
	_, err := scanMountInfo(oneByteReader{bytes.NewReader([]byte(in))}, make([]byte, MaxMountInfoLine), 100, func(v *MountInfoView) bool {
		got = append(got, string(v.MountPoint))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"/", "/sys/fs/cgroup"}) {
		t.Fatalf("got %q", got)
	}
}

func TestScanMountInfoLongLineAtEnd(t *testing.T) {
	in := "1 0 0:1 / / rw - ext4 /dev/vda rw\n" + strings.Repeat("x", 3*MaxMountInfoLine)
	n := 0
	skipped, err := scanMountInfo(strings.NewReader(in), make([]byte, MaxMountInfoLine), 100, func(*MountInfoView) bool { n++; return true })
	if err != nil || n != 1 || skipped != 1 {
		t.Fatalf("n=%d skipped=%d err=%v", n, skipped, err)
	}
}

func TestFSMountInfo(t *testing.T) {
	mounts, skipped, err := NewFS("testdata/hybrid").MountInfo("self")
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 0 || len(mounts) != 4 {
		t.Fatalf("skipped=%d mounts=%d", skipped, len(mounts))
	}
	if mounts[3].FSType != "cgroup2" || mounts[3].MountPoint != "/sys/fs/cgroup/unified" {
		t.Fatalf("last mount %+v", mounts[3])
	}
	if _, _, err := NewFS("testdata/nonexistent").MountInfo("self"); err == nil {
		t.Fatal("want error for missing file")
	}
}

func FuzzParseMountInfo(f *testing.F) {
	for _, tt := range mountinfoLineTests {
		f.Add([]byte(tt.in + "\n" + tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mounts, _ := ParseMountInfo(data)
		for _, m := range mounts {
			if m.FSType == "" {
				t.Fatalf("accepted line without fstype: %+v", m)
			}
		}
	})
}

// A line longer than the buffer but within MaxMountInfoLine grows the
// buffer and is parsed; one beyond MaxMountInfoLine is skipped.
func TestScanMountInfoGrowsBuffer(t *testing.T) {
	long := "7 1 0:7 / /long rw - overlay overlay rw,lowerdir=" + strings.Repeat("/l:", 10000) + "\n"
	tooLong := "8 1 0:8 / /toolong rw - overlay overlay rw,lowerdir=" + strings.Repeat("/l:", 30000) + "\n"
	in := "1 0 0:1 / / rw - ext4 /dev/vda rw\n" + long + tooLong + "2 1 0:2 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	var got []string
	skipped, err := scanMountInfo(strings.NewReader(in), make([]byte, minMountInfoBuf), 100, func(v *MountInfoView) bool {
		got = append(got, string(v.MountPoint))
		return true
	})
	if err != nil || skipped != 1 || strings.Join(got, " ") != "/ /long /sys/fs/cgroup" {
		t.Fatalf("got %q, skipped %d, err %v; want / /long /sys/fs/cgroup with the 90 KB line skipped", got, skipped, err)
	}
}
