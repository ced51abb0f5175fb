package runc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// These tests need neither root nor runc.

func TestBuildSpec(t *testing.T) {
	cfg := Config{
		Args: []string{"/probe"}, Env: []string{"A=b"},
		CPUQuota: 150000, CPUPeriod: 100000, MemoryLimit: 1 << 28, PidsLimit: 64,
		CgroupsPath: "/kubepods/pod1/c", CgroupNamespace: true, ReadOnlyRootfs: true,
		BindMounts: []Mount{{Source: "/h", Destination: "/etc/hosts", ReadOnly: true}},
	}
	b, err := json.Marshal(buildSpec(&cfg))
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{
		`"ociVersion":"1.0.2"`,
		`"env":["` + defaultPath + `","A=b"]`,
		`"root":{"path":"rootfs","readonly":true}`,
		`{"destination":"/proc","type":"proc","source":"proc"}`,
		`{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}`,
		`{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}`,
		`{"destination":"/etc/hosts","type":"bind","source":"/h","options":["rbind","rprivate","ro"]}`,
		`"memory":{"limit":268435456}`,
		`"cpu":{"quota":150000,"period":100000}`,
		`"pids":{"limit":64}`,
		`"cgroupsPath":"/kubepods/pod1/c"`,
		`{"type":"cgroup"}`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("config.json lacks %s\n%s", want, js)
		}
	}

	b, _ = json.Marshal(buildSpec(&Config{Args: []string{"/x"}, Env: []string{"PATH=/bin"}}))
	js = string(b)
	for _, absent := range []string{`"cpu"`, `"memory"`, `"pids"`, `"cgroupsPath"`, `{"type":"cgroup"}`, defaultPath} {
		if strings.Contains(js, absent) {
			t.Errorf("unset config has %s:\n%s", absent, js)
		}
	}
}

func TestGuestPath(t *testing.T) {
	for _, bad := range []string{"", "rel", "/", "/..", "/a/.."} {
		if _, err := guestPath("/r", bad); err == nil {
			t.Errorf("guestPath(%q): no error", bad)
		}
	}
	// Cleaning an absolute path cannot climb above "/": these stay inside.
	for in, want := range map[string]string{"/a/./b": "/r/a/b", "/../etc": "/r/etc", "/a/../../b": "/r/b"} {
		if got, err := guestPath("/r", in); err != nil || got != want {
			t.Errorf("guestPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestBuildRootfs(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(src, []byte("#!"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	err := buildRootfs(root, &Config{
		Files:    map[string]string{"/usr/bin/x": src},
		Contents: map[string][]byte{"/etc/hosts": []byte("h")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "usr/bin/x")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("copied binary: %v, %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/hosts")); err != nil || string(b) != "h" {
		t.Errorf("content: %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(root, "tmp")); err != nil || st.Mode()&os.ModeSticky == 0 {
		t.Errorf("/tmp: %v, %v", st, err)
	}
}

func TestNames(t *testing.T) {
	k := NewKubePath("burstable")
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	if !uuid.MatchString(k.PodUID) || !strings.HasPrefix(k.PodUID, "72696768-7473-697a-65") {
		t.Errorf("pod UID %q", k.PodUID)
	}
	if !regexp.MustCompile(`^726967687473697a65[0-9a-f]{46}$`).MatchString(k.ContainerID) {
		t.Errorf("container ID %q", k.ContainerID)
	}
	if want := "/kubepods/burstable/pod" + k.PodUID + "/" + k.ContainerID; k.Container() != want {
		t.Errorf("Container() = %q, want %q", k.Container(), want)
	}
	if got := (KubePath{PodUID: "u", ContainerID: "c"}).Container(); got != "/kubepods/podu/c" {
		t.Errorf("Guaranteed path %q", got)
	}
	if a, b := NewKubePath("").PodUID, NewKubePath("").PodUID; a == b {
		t.Errorf("two pod UIDs are equal: %s", a)
	}
	if n := UniqueName("parent"); !regexp.MustCompile(`^rightsize-parent-[0-9a-f]{8}$`).MatchString(n) {
		t.Errorf("UniqueName = %q", n)
	}
	if id := newContainerID(); !regexp.MustCompile(`^rightsize-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("container ID %q", id)
	}
}

func TestCapped(t *testing.T) {
	var c capped
	big := strings.Repeat("x", maxOutput-1)
	if n, err := c.Write([]byte(big)); n != len(big) || err != nil {
		t.Fatal(n, err)
	}
	if n, err := c.Write([]byte("yz")); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	if s := c.String(); !strings.HasSuffix(s, "xy\n[output truncated]\n") {
		t.Errorf("tail %q", s[len(s)-30:])
	}
}
