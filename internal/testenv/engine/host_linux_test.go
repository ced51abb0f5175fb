//go:build linux

package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func mountTmpfs(dir string) error { return syscall.Mount("rightsize-test", dir, "tmpfs", 0, "size=1m") }

func TestMentions(t *testing.T) {
	dir := "/tmp/rightsize-engine-docker-123"
	for cmdline, want := range map[string]bool{
		"dockerd\x00--data-root\x00/tmp/rightsize-engine-docker-123/data\x00":  true,
		"containerd\x00--config=/tmp/rightsize-engine-docker-123/x.toml\x00":   true,
		"sh\x00-c\x00cd /tmp/rightsize-engine-docker-123 && x\x00":             true,
		"conmon\x00/tmp/rightsize-engine-docker-123\x00":                       true,
		"conmon\x00/tmp/rightsize-engine-docker-123":                           true,
		"dockerd\x00--data-root\x00/tmp/rightsize-engine-docker-1234/data\x00": false,
		"bash\x00": false,
	} {
		if got := mentions([]byte(cmdline), dir); got != want {
			t.Errorf("mentions(%q) = %v, want %v", strings.ReplaceAll(cmdline, "\x00", " "), got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	if got := unescape(`/a\040b\011c`); got != "/a b\tc" {
		t.Errorf("unescape = %q", got)
	}
	if got := unescape("/plain"); got != "/plain" {
		t.Errorf("unescape = %q", got)
	}
}

func TestOwner(t *testing.T) {
	dir := t.TempDir()
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	if !ownerAlive(dir) {
		t.Error("this process's directory is not alive")
	}
	// PID 1 with another start time: a reused PID, not the owner.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte("1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if start, err := procStartTime(1); err == nil && start != 1 && ownerAlive(dir) {
		t.Error("a PID with another start time counts as the owner")
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ownerAlive(dir) {
		t.Error("a malformed owner file counts as alive")
	}
}

func TestRecordedCgroups(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"/rightsize-docker-ab", "/kubepods", "/rightsize-x/../etc", "/rightsize-parent-cd"} {
		if err := recordCgroup(dir, p); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := recordedCgroups(dir), []string{"/rightsize-docker-ab", "/rightsize-parent-cd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %q, want only the harness's names %q", got, want)
	}
	for _, p := range []string{"/", "/kubepods", "/rightsize-x/../docker", "rightsize-x"} {
		if err := removeCgroupTree(p); err == nil {
			t.Errorf("removeCgroupTree(%q) did not refuse", p)
		}
	}
}

func TestCleanupDirRemovesItsMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "shm")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mountTmpfs(sub); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cleanupDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(b), sub) {
		t.Errorf("%s is still mounted", sub)
	}
}
