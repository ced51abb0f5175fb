package procfs

import "testing"

func TestParseFdinfoPid(t *testing.T) {
	for in, want := range map[string]int{
		"pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4211\nNSpid:\t4211\n": 4211,
		"Pid:\t-1\nNSpid:\t-1\n": -1,
		"Pid:\t0\n":              0,
	} {
		if pid, ok := parseFdinfoPid([]byte(in)); !ok || pid != want {
			t.Errorf("%q: %d, %v; want %d", in, pid, ok, want)
		}
	}
	for _, in := range []string{"", "pos:\t0\nflags:\t02\n", "Pid:\tx\n", "tfd: 7 events: 19\n", "Pid:\t2147483648\n"} {
		if pid, ok := parseFdinfoPid([]byte(in)); ok {
			t.Errorf("%q: pid %d", in, pid)
		}
	}
	if !isPidfdLink([]byte("anon_inode:[pidfd]")) || !isPidfdLink([]byte("pidfd:[1234]")) || isPidfdLink([]byte("anon_inode:[eventfd]")) {
		t.Error("isPidfdLink")
	}
}
