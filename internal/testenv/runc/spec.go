package runc

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The types below are the small part of the OCI runtime specification
// (github.com/opencontainers/runtime-spec, config.json) the harness needs.
// They are written out here rather than imported so that the library module
// keeps its dependency list to the standard library and golang.org/x/sys,
// tests included. Field names and JSON tags follow runtime-spec v1.0.2, the
// version the Debian runc (1.1.x) implements.

type ociSpec struct {
	OCIVersion string     `json:"ociVersion"`
	Process    ociProcess `json:"process"`
	Root       ociRoot    `json:"root"`
	Hostname   string     `json:"hostname,omitempty"`
	Mounts     []ociMount `json:"mounts"`
	Linux      ociLinux   `json:"linux"`
}

type ociProcess struct {
	Terminal        bool             `json:"terminal"`
	User            ociUser          `json:"user"`
	Args            []string         `json:"args"`
	Env             []string         `json:"env,omitempty"`
	Cwd             string           `json:"cwd"`
	Capabilities    *ociCapabilities `json:"capabilities,omitempty"`
	Rlimits         []ociRlimit      `json:"rlimits,omitempty"`
	NoNewPrivileges bool             `json:"noNewPrivileges"`
	OOMScoreAdj     *int             `json:"oomScoreAdj,omitempty"`
}

type ociUser struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

type ociCapabilities struct {
	Bounding  []string `json:"bounding"`
	Effective []string `json:"effective"`
	Permitted []string `json:"permitted"`
}

type ociRlimit struct {
	Type string `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

type ociRoot struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type,omitempty"`
	Source      string   `json:"source,omitempty"`
	Options     []string `json:"options,omitempty"`
}

type ociLinux struct {
	Resources     *ociResources  `json:"resources,omitempty"`
	CgroupsPath   string         `json:"cgroupsPath,omitempty"`
	Namespaces    []ociNamespace `json:"namespaces"`
	MaskedPaths   []string       `json:"maskedPaths,omitempty"`
	ReadonlyPaths []string       `json:"readonlyPaths,omitempty"`
}

type ociNamespace struct {
	Type string `json:"type"`
}

type ociResources struct {
	Devices []ociDevice `json:"devices,omitempty"`
	Memory  *ociMemory  `json:"memory,omitempty"`
	CPU     *ociCPU     `json:"cpu,omitempty"`
	Pids    *ociPids    `json:"pids,omitempty"`
}

type ociDevice struct {
	Allow  bool   `json:"allow"`
	Access string `json:"access,omitempty"`
}

type ociMemory struct {
	Limit *int64 `json:"limit,omitempty"`
}

type ociCPU struct {
	Quota  *int64  `json:"quota,omitempty"`
	Period *uint64 `json:"period,omitempty"`
}

type ociPids struct {
	Limit int64 `json:"limit"`
}

// defaultPath is the PATH runc's own `runc spec` template sets; the harness
// adds it when Config.Env has none so that the container sees a normal
// environment.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildSpec turns a Config into config.json content. The result mirrors
// what `runc spec` and docker produce (namespaces, the /proc, /dev, /sys and
// cgroup mounts, masked paths, a default-deny device list, few
// capabilities), because the library under test parses mountinfo and
// cgroup files and must see them as a real container shows them.
func buildSpec(cfg *Config) ociSpec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	env := append([]string(nil), cfg.Env...)
	if !hasEnv(env, "PATH") {
		env = append([]string{defaultPath}, env...)
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = "rightsize-test"
	}
	s := ociSpec{
		OCIVersion: "1.0.2",
		Process: ociProcess{
			Args:            cfg.Args,
			Env:             env,
			Cwd:             "/",
			Capabilities:    &ociCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:         []ociRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
			OOMScoreAdj:     cfg.OOMScoreAdj,
		},
		Root:     ociRoot{Path: "rootfs", Readonly: cfg.ReadOnlyRootfs},
		Hostname: hostname,
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			// runc turns this single entry into one bind mount per v1
			// hierarchy (rooted at the container's cgroup) without a
			// cgroup namespace, or fresh cgroup mounts with one.
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: ociLinux{
			CgroupsPath: cfg.CgroupsPath,
			Namespaces: []ociNamespace{
				{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	if cfg.CgroupNamespace {
		s.Linux.Namespaces = append(s.Linux.Namespaces, ociNamespace{Type: "cgroup"})
	}
	for _, m := range cfg.BindMounts {
		typ := m.Type
		opts := append([]string(nil), m.Options...)
		if typ == "" || typ == "bind" {
			typ = "bind"
			opts = append([]string{"rbind", "rprivate"}, opts...)
		}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		s.Mounts = append(s.Mounts, ociMount{Destination: m.Destination, Type: typ, Source: m.Source, Options: opts})
	}

	r := &ociResources{Devices: []ociDevice{{Allow: false, Access: "rwm"}}}
	if cfg.CPUQuota != 0 || cfg.CPUPeriod != 0 {
		r.CPU = &ociCPU{}
		if cfg.CPUQuota != 0 {
			q := cfg.CPUQuota
			r.CPU.Quota = &q
		}
		if cfg.CPUPeriod != 0 {
			p := cfg.CPUPeriod
			r.CPU.Period = &p
		}
	}
	if cfg.MemoryLimit != 0 {
		l := cfg.MemoryLimit
		r.Memory = &ociMemory{Limit: &l}
	}
	if cfg.PidsLimit != 0 {
		r.Pids = &ociPids{Limit: cfg.PidsLimit}
	}
	s.Linux.Resources = r
	return s
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if len(e) > len(key) && e[:len(key)] == key && e[len(key)] == '=' {
			return true
		}
	}
	return false
}

// writeSpec writes config.json into the bundle directory.
func writeSpec(bundle string, s ociSpec) error {
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return fmt.Errorf("encode config.json: %w", err)
	}
	return os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644)
}
