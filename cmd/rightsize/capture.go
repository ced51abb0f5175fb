package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/procfs"
)

// maxCaptureFile bounds every file copied; mountinfo may be long (overlay
// options), the rest are a few KiB.
const (
	maxCaptureFile = 1 << 20
	maxMountInfo   = 16 << 20
)

// Service account directories as detect checks them (kubelet path first,
// then where runc puts it in images with /var/run -> /run).
var serviceAccountDirs = []string{
	"var/run/secrets/kubernetes.io/serviceaccount",
	"run/secrets/kubernetes.io/serviceaccount",
}

// keepValue lists the environment variables whose values a capture keeps:
// what rightsize and its detection read. Every other variable is kept by
// name only ("NAME="), since values are where secrets live.
var keepValue = map[string]bool{
	"KUBERNETES_SERVICE_HOST":       true,
	"KUBERNETES_SERVICE_PORT":       true,
	"GOMAXPROCS":                    true,
	"GOMEMLIMIT":                    true,
	"GODEBUG":                       true,
	"RIGHTSIZE":                     true,
	"container":                     true, // systemd's container interface
	"ECS_CONTAINER_METADATA_URI_V4": true,
	"ECS_CONTAINER_METADATA_URI":    true,
	"K_SERVICE":                     true,
	"K_REVISION":                    true,
	"CLOUD_RUN_JOB":                 true,
	"NOMAD_ALLOC_ID":                true,
}

// filterEnviron returns environ content (NAME=value entries ended by NUL)
// with the values dropped except those in keepValue and RIGHTSIZE_*.
// Entries without '=' and names that are not plain identifiers are dropped
// whole: only a name that looks like one is safe to keep.
func filterEnviron(env []string) []byte {
	var b bytes.Buffer
	for _, e := range env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || !validEnvName(name) {
			continue
		}
		b.WriteString(name)
		b.WriteByte('=')
		if keepValue[name] || strings.HasPrefix(name, "RIGHTSIZE_") {
			b.WriteString(value)
		}
		b.WriteByte(0)
	}
	return b.Bytes()
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// filterStatus keeps the lines of /proc/self/status that rightsize parses.
func filterStatus(data []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		key, _, _ := strings.Cut(line, ":")
		switch key {
		case "Threads", "Cpus_allowed", "Cpus_allowed_list":
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

// firstLine keeps /etc/hosts' first line: the kubelet's heading is what
// detection reads, the rest names hosts and addresses.
func firstLine(data []byte) []byte {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i+1]
	}
	return data
}

// archive collects the entries of a capture.
type archive struct {
	root     string
	files    map[string][]byte // relative path -> content
	dirs     map[string]bool   // relative directories that must exist
	warnings []string
}

func (a *archive) path(rel string) string {
	return filepath.Join(a.root, filepath.FromSlash(rel))
}

// read reads root/rel; a missing file is not an error, an unreadable one is
// a warning.
func (a *archive) read(rel string, max int) ([]byte, bool) {
	data, err := procfs.NewFS(a.root).ReadFile(rel, max)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.warnings = append(a.warnings, "skipped "+a.unroot(err.Error()))
		}
		return nil, false
	}
	return data, true
}

func (a *archive) unroot(msg string) string {
	if a.root == "/" {
		return msg
	}
	return strings.ReplaceAll(msg, a.root+string(filepath.Separator), "/")
}

// copy copies root/rel through filter (nil: as is).
func (a *archive) copy(rel string, max int, filter func([]byte) []byte) {
	data, ok := a.read(rel, max)
	if !ok {
		return
	}
	if filter != nil {
		data = filter(data)
	}
	a.files[rel] = data
}

// capture writes a gzip-compressed tar archive of the files rightsize reads
// below root to w, returning the number of files and what was skipped.
// Secrets are never copied: see filterEnviron, firstLine and the service
// account handling.
func capture(w io.Writer, root string) (int, []string, error) {
	root = absRoot(root)
	a := &archive{root: root, files: map[string][]byte{}, dirs: map[string]bool{}}

	// /proc: what procfs, cgroup discovery, runtimeinfo and detect read.
	a.copy("proc/self/cgroup", maxCaptureFile, nil)
	a.copy("proc/self/mountinfo", maxMountInfo, nil)
	a.copy("proc/self/status", maxCaptureFile, filterStatus)
	a.copy("proc/self/oom_score_adj", maxCaptureFile, nil)
	a.copy("proc/meminfo", maxCaptureFile, nil)
	a.copy("proc/sys/kernel/osrelease", maxCaptureFile, nil)
	a.copy(hostCPUsFile, maxCaptureFile, nil)
	if root == "/" {
		// Live, rightsize reads os.Environ, not the file.
		a.files["proc/self/environ"] = filterEnviron(os.Environ())
	} else if data, ok := a.read("proc/self/environ", maxCaptureFile); ok {
		a.files["proc/self/environ"] = filterEnviron(procfs.ParseEnviron(data))
	}
	if data, ok := a.read("proc/1/environ", maxCaptureFile); ok {
		a.files["proc/1/environ"] = filterEnviron(procfs.ParseEnviron(data))
	}

	// Files detect looks at outside /proc.
	a.copy("etc/hosts", maxCaptureFile, firstLine)
	if _, err := os.Stat(a.path(".dockerenv")); err == nil {
		a.files[".dockerenv"] = nil // its existence is the signal
	}
	a.copy("run/.containerenv", 64<<10, nil)
	a.copy("run/systemd/container", maxCaptureFile, nil)
	for _, dir := range serviceAccountDirs {
		fi, err := os.Stat(a.path(dir))
		if err != nil || !fi.IsDir() {
			continue
		}
		// The directory is a signal and namespace names the pod's
		// namespace; token, ca.crt and anything else stay behind.
		a.dirs[dir] = true
		a.copy(dir+"/namespace", 256, nil)
		break
	}

	// The cgroup files of the process's cgroups and their ancestors.
	g, err := cgroup.Open(cgroup.WithRoot(root))
	switch {
	case errors.Is(err, cgroup.ErrNotSupported):
		a.warnings = append(a.warnings, "cgroups are not supported on this system: none captured")
	case err != nil:
		a.warnings = append(a.warnings, "no cgroup files captured: "+a.unroot(err.Error()))
	default:
		for _, p := range g.Files() {
			a.copy(strings.TrimPrefix(filepath.ToSlash(p), "/"), maxCaptureFile, nil)
		}
		// Every level's directory must exist, files or not: the leaf's
		// absence means "cgroup removed".
		for _, c := range []cgroup.Controller{cgroup.CPU, cgroup.CPUAcct, cgroup.CPUSet, cgroup.Memory, cgroup.PIDs, cgroup.Unified} {
			loc, ok := g.Location(c)
			if !ok {
				continue
			}
			for d := loc.Dir; ; d = path.Dir(d) {
				a.dirs[strings.TrimPrefix(d, "/")] = true
				if len(d) <= len(loc.MountPoint) || d == "/" {
					break
				}
			}
		}
		g.Close()
	}
	if len(a.files) == 0 {
		return 0, a.warnings, errors.New("nothing to capture: no file rightsize reads was found below " + root)
	}
	return len(a.files), a.warnings, a.write(w)
}

// write writes the archive: directories first, then files, sorted, with
// the capture time as modification time.
func (a *archive) write(w io.Writer) error {
	now := time.Now().Truncate(time.Second)
	dirs := map[string]bool{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range a.dirs {
		if d != "" {
			dirs[d] = true
			addParents(d)
		}
	}
	for f := range a.files {
		addParents(f)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, d := range sortedKeys(dirs) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now}); err != nil {
			return err
		}
	}
	for _, f := range sortedKeys(a.files) {
		data := a.files[f]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f, Mode: 0o644, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
