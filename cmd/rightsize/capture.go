package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
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
	"github.com/rightsize/rightsize/internal/capturehook"
	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/procfs"
)

// maxCaptureFile bounds every file copied; mountinfo may be long (overlay
// options), the rest are a few KiB.
const (
	maxCaptureFile = 1 << 20
	maxMountInfo   = 16 << 20
)

// tarBlock is what every entry of the archive costs besides its content:
// its tar header. Charged against captureMaxBytes for each file, link and
// directory, so that a tree of millions of empty files, links or
// directories is bounded as a large file is.
const tarBlock = 512

// Bounds of a whole capture: the bytes it may hold (file content, link
// targets and tarBlock per entry) and the time it may take. Variables so
// that tests can lower them.
var (
	captureMaxBytes int64 = 64 << 20
	captureTimeout        = 30 * time.Second
	// captureHook, when set (tests), is called before each file is read.
	captureHook func(name string)
	// captureStall, when set (tests), is called once the temporary file
	// exists, on the command's goroutine: a capture that does not react to
	// its context, for the signal tests.
	captureStall func()
)

// Service account directories as detect checks them (kubelet path first,
// then where runc puts it in images with /var/run -> /run).
var serviceAccountDirs = []string{
	"/var/run/secrets/kubernetes.io/serviceaccount",
	"/run/secrets/kubernetes.io/serviceaccount",
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

// captureCommand runs "rightsize capture -o out". A file is written
// beside out (same directory, a new name created with O_EXCL, mode 0600
// while written, 0644 when complete) and renamed onto out only when the
// capture succeeded: a failed or interrupted capture leaves an existing out
// untouched and removes its own temporary file. out must not be a symbolic
// link, a device, a FIFO, a socket or a directory. "-" writes to stdout,
// and only a complete archive.
func captureCommand(ctx context.Context, out, root string, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "rightsize capture: "+format+"\n", args...)
		return exitError
	}
	var tmp *os.File
	if out != "-" {
		if err := checkOutput(out); err != nil {
			return fail("%v", err)
		}
		var err error
		tmp, err = os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
		if err != nil {
			return fail("-o %s: %v", out, unwrapPathError(err))
		}
		addTemp(tmp.Name())
		defer func() {
			// Whatever happened, the temporary file does not stay.
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
				dropTemp(tmp.Name())
			}
		}()
		if captureStall != nil {
			captureStall()
		}
	}

	type result struct {
		data     []byte
		files    int
		warnings []string
		err      error
	}
	lim := currentLimits()
	cctx, cancel := context.WithTimeout(ctx, lim.timeout)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var buf bytes.Buffer
		files, warnings, err := captureWith(cctx, &buf, root, lim)
		done <- result{buf.Bytes(), files, warnings, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-cctx.Done():
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "rightsize capture: interrupted; nothing written")
		return exitInterrupted
	}
	if cctx.Err() != nil && res.err == nil && res.data == nil {
		res.err = fmt.Errorf("did not finish within %v; nothing written", lim.timeout)
	}
	for _, msg := range res.warnings {
		fmt.Fprintln(stderr, "rightsize capture: warning:", sanitize(msg))
	}
	if res.err != nil {
		return fail("%v", res.err)
	}

	if tmp == nil {
		w := &errWriter{w: stdout}
		w.Write(res.data)
		return finish(w, stderr, exitOK)
	}
	if _, err := tmp.Write(res.data); err != nil {
		return fail("writing %s: %v", tmp.Name(), unwrapPathError(err))
	}
	if err := tmp.Sync(); err != nil {
		return fail("writing %s: %v", tmp.Name(), unwrapPathError(err))
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return fail("writing %s: %v", tmp.Name(), unwrapPathError(err))
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "rightsize capture: interrupted; nothing written")
		return exitInterrupted
	}
	// Checked again: out may have been replaced while the capture ran.
	if err := checkOutput(out); err != nil {
		return fail("%v", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fail("%v", err)
	}
	dropTemp(tmp.Name())
	tmp = nil
	fmt.Fprintf(stderr, "rightsize capture: wrote %d files to %s (unpack it and run rightsize --root DIR)\n", res.files, out)
	return exitOK
}

// checkOutput refuses an -o that is anything but a regular file or
// nothing: writing through a symbolic link, to a device, a FIFO or a
// socket, or onto a directory is never what a capture should do.
func checkOutput(out string) error {
	fi, err := os.Lstat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("-o %s: %v", out, unwrapPathError(err))
	case fi.Mode().IsRegular():
		return nil
	}
	return fmt.Errorf("-o %s: it is %s, not a regular file; refusing to write there", out, rootfs.Kind(fi.Mode()))
}

// limits are the bounds of one capture, read from the variables once by
// the goroutine that starts it: the capture's own goroutine may outlive
// the command's return (after a timeout), and must not read them again.
type limits struct {
	maxBytes int64
	timeout  time.Duration
	hook     func(name string)
}

func currentLimits() limits {
	return limits{maxBytes: captureMaxBytes, timeout: captureTimeout, hook: captureHook}
}

// archive collects the entries of a capture.
type archive struct {
	lim      limits
	ctx      context.Context
	root     rootfs.Root
	files    map[string][]byte // name in the archive -> content
	links    map[string]string // name in the archive -> target as written
	opaque   map[string]bool   // links whose target is a placeholder, not a path (descriptors)
	dirs     map[string]bool   // directories that must exist
	charged  map[string]bool   // entries already charged (tarBlock each), with their parent directories
	size     int64             // bytes charged against lim.maxBytes
	warnings []string
	err      error // fatal: too large, too slow, interrupted
}

// entryName is the name in the archive of a path inside the root: no
// leading slash, no "..", "" for the root itself.
func entryName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
}

func (a *archive) warn(msg string) {
	a.warnings = append(a.warnings, a.root.Unroot(msg))
}

// check stops the capture when its context ended.
func (a *archive) check() bool {
	if a.err != nil {
		return false
	}
	if err := a.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			a.err = fmt.Errorf("did not finish within %v; nothing written", a.lim.timeout)
		} else {
			a.err = errors.New("interrupted; nothing written")
		}
		return false
	}
	return true
}

// read reads a regular file inside the root, at most max bytes. A missing
// file is not an error; a symbolic link is recorded as a link and not
// followed; anything else that cannot be read (a FIFO, a device, a
// directory, a file too large, permission denied) is skipped with a
// warning.
func (a *archive) read(name string, max int) ([]byte, bool) {
	return a.readOpt(name, max, false)
}

// readQuiet is read for a file of a process that may exit meanwhile: a
// file that vanished (ENOENT, ESRCH) is left out without a warning.
func (a *archive) readQuiet(name string, max int) ([]byte, bool) {
	return a.readOpt(name, max, true)
}

func (a *archive) readOpt(name string, max int, quiet bool) ([]byte, bool) {
	if !a.check() {
		return nil, false
	}
	if a.lim.hook != nil {
		a.lim.hook(name)
		if !a.check() {
			return nil, false
		}
	}
	info, err := a.root.Lstat(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !(quiet && vanished(err)) {
			a.warn("skipped " + err.Error())
		}
		return nil, false
	}
	if info.Mode&fs.ModeSymlink != 0 {
		if target, err := a.root.Readlink(name); err != nil {
			a.warn("skipped " + err.Error())
		} else {
			a.addLink(name, target)
		}
		return nil, false
	}
	data, err := a.root.ReadFile(name, max)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !(quiet && vanished(err)) {
			a.warn("skipped " + err.Error())
		}
		return nil, false
	}
	if !a.charge(int64(len(data))) {
		return nil, false
	}
	return data, true
}

// charge counts n bytes against the capture's bound; past it the capture
// stops with an error (nothing is written) and charge returns false.
func (a *archive) charge(n int64) bool {
	if a.err != nil {
		return false
	}
	a.size += n
	if a.size > a.lim.maxBytes {
		a.err = fmt.Errorf("the capture would hold more than %s (file contents, and %d bytes for each file, link and directory); stopped, nothing written",
			fmtBytes(a.lim.maxBytes), tarBlock)
		return false
	}
	return true
}

// entry charges the archive entry name (a name in the archive) and each
// parent directory that write adds for it, tarBlock each, the first time
// each is seen.
func (a *archive) entry(name string) bool {
	var n int64
	for p := name; p != "" && p != "." && p != "/"; p = path.Dir(p) {
		if a.charged[p] {
			break // and so are its parents
		}
		a.charged[p] = true
		n += tarBlock
	}
	return a.charge(n)
}

// addFile records a file (name is a path inside the root) with its
// content, which the read that returned it has charged.
func (a *archive) addFile(name string, data []byte) {
	if n := entryName(name); a.entry(n) {
		a.files[n] = data
	}
}

// addLink records a symbolic link and charges its target.
func (a *archive) addLink(name, target string) {
	if n := entryName(name); a.entry(n) && a.charge(int64(len(target))) {
		a.links[n] = target
	}
}

// addDir records a directory that must exist in the archive.
func (a *archive) addDir(name string) {
	if n := entryName(name); n != "" && a.entry(n) {
		a.dirs[n] = true
	}
}

// copy copies a file through filter (nil: as is).
func (a *archive) copy(name string, max int, filter func([]byte) []byte) {
	data, ok := a.read(name, max)
	if !ok {
		return
	}
	if filter != nil {
		data = filter(data)
	}
	a.addFile(name, data)
}

// capture writes a gzip-compressed tar archive of the files rightsize reads
// below root to w, returning the number of files and what was skipped.
// Every file is read through rootfs: below a root other than "/" nothing
// outside it is ever read, a symbolic link is recorded as a link, and only
// regular files are copied. Secrets are never copied: see filterEnviron,
// firstLine and the service account handling. ctx bounds the time.
func capture(ctx context.Context, w io.Writer, root string) (int, []string, error) {
	return captureWith(ctx, w, root, currentLimits())
}

func captureWith(ctx context.Context, w io.Writer, root string, lim limits) (int, []string, error) {
	a := &archive{
		lim: lim, ctx: ctx, root: rootfs.New(root),
		files: map[string][]byte{}, links: map[string]string{}, opaque: map[string]bool{}, dirs: map[string]bool{}, charged: map[string]bool{},
	}

	// /proc: what procfs, cgroup discovery, runtimeinfo and detect read.
	a.copy("/proc/self/cgroup", maxCaptureFile, nil)
	a.copy("/proc/self/mountinfo", maxMountInfo, nil)
	a.copy("/proc/self/status", maxCaptureFile, filterStatus)
	a.copy("/proc/self/oom_score_adj", maxCaptureFile, nil)
	a.copy("/proc/meminfo", maxCaptureFile, nil)
	a.copy("/proc/sys/kernel/osrelease", maxCaptureFile, nil)
	a.copy(hostCPUsFile, maxCaptureFile, nil)
	// The host's pressure, which the cgroup handle reads where the
	// process has no v2 cgroup with pressure files (not in its list).
	for _, res := range []string{"cpu", "memory", "io"} {
		a.copy("/proc/pressure/"+res, maxCaptureFile, nil)
	}
	if a.root.IsLive() {
		// Live, rightsize reads os.Environ, not the file.
		if env := filterEnviron(os.Environ()); a.charge(int64(len(env))) {
			a.addFile("/proc/self/environ", env)
		}
	} else if data, ok := a.read("/proc/self/environ", maxCaptureFile); ok {
		a.addFile("/proc/self/environ", filterEnviron(procfs.ParseEnviron(data)))
	}
	if data, ok := a.read("/proc/1/environ", maxCaptureFile); ok {
		a.addFile("/proc/1/environ", filterEnviron(procfs.ParseEnviron(data)))
	}
	// The process table, without process names or open files.
	if a.check() {
		a.processTable()
	}

	// Files detect looks at outside /proc.
	a.copy("/etc/hosts", maxCaptureFile, firstLine)
	if _, ok := a.read("/.dockerenv", maxCaptureFile); ok {
		a.addFile("/.dockerenv", nil) // its existence is the signal
	}
	a.copy("/run/.containerenv", 64<<10, nil)
	a.copy("/run/systemd/container", maxCaptureFile, nil)
	for _, dir := range serviceAccountDirs {
		if !a.check() {
			break
		}
		if info, err := a.root.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		// The directory is a signal and namespace names the pod's
		// namespace; token, ca.crt and anything else stay behind.
		a.addDir(dir)
		a.copy(dir+"/namespace", 256, nil)
		break
	}

	// The cgroup files of the process's cgroups and their ancestors.
	if a.check() {
		a.cgroupFiles()
	}
	if a.err != nil {
		return 0, a.warnings, a.err
	}
	if len(a.files) == 0 && len(a.links) == 0 {
		return 0, a.warnings, errors.New("nothing to capture: no file rightsize reads was found below " + a.root.Dir())
	}
	a.danglingLinks()
	if err := a.write(w); err != nil {
		return 0, a.warnings, err
	}
	return len(a.files) + len(a.links), a.warnings, nil
}

// cgroupFiles copies the files the process's cgroup handle reads, and
// makes every level's directory exist, files or not (the leaf's absence
// means "cgroup removed").
func (a *archive) cgroupFiles() {
	g, err := cgroup.Open(cgroup.WithRoot(a.root.Dir()))
	switch {
	case errors.Is(err, cgroup.ErrNotSupported):
		a.warn("cgroups are not supported on this system: none captured")
		return
	case err != nil:
		a.warn("no cgroup files captured: " + err.Error())
		return
	}
	defer g.Close()
	if capturehook.CgroupEntries == nil {
		a.warn("no cgroup files captured: the cgroup package did not register its file list")
		return
	}
	entries, err := capturehook.CgroupEntries(g)
	if err != nil {
		a.warn("no cgroup files captured: " + err.Error())
		return
	}
	// Every candidate the handle may read, whatever it is: regular files
	// are copied and links recorded as links (a.read decides, through
	// rootfs); a FIFO, socket, device or directory in place of a cgroup
	// file is never opened, only named in a warning.
	for _, e := range entries {
		if e.Mode.IsRegular() || e.Mode&fs.ModeSymlink != 0 {
			a.copy(e.Path, maxCaptureFile, nil)
			continue
		}
		if !a.check() {
			return
		}
		a.warn("skipped " + (&rootfs.Error{Path: a.root.Join(e.Path), Err: fmt.Errorf("%w: it is %s", rootfs.ErrNotRegular, rootfs.Kind(e.Mode))}).Error())
	}
	for _, c := range []cgroup.Controller{cgroup.CPU, cgroup.CPUAcct, cgroup.CPUSet, cgroup.Memory, cgroup.PIDs, cgroup.Unified} {
		loc, ok := g.Location(c)
		if !ok {
			continue
		}
		for d := loc.Dir; ; d = path.Dir(d) {
			if info, err := a.root.Stat(d); err == nil && info.IsDir() {
				a.addDir(d)
			}
			if len(d) <= len(loc.MountPoint) || d == "/" || d == "." {
				break
			}
		}
	}
}

// danglingLinks warns about recorded links whose target (resolved inside
// the root, lexically) is not in the archive: they are kept as links, but
// the unpacked tree will not have what they point to.
func (a *archive) danglingLinks() {
	for _, name := range sortedKeys(a.links) {
		if a.opaque[name] {
			continue
		}
		target := a.links[name]
		resolved := target
		if !path.IsAbs(target) {
			resolved = path.Join("/"+path.Dir(name), target)
		}
		if _, ok := a.files[entryName(resolved)]; ok {
			continue
		}
		a.warn("/" + name + " is a symbolic link to " + strconvQuote(target) + ": recorded as a link; its target is not captured")
	}
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// write writes the archive: directories first, then files and links,
// sorted, with the capture time as modification time.
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
	for l := range a.links {
		addParents(l)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, d := range sortedKeys(dirs) {
		if _, ok := a.files[d]; ok {
			continue
		}
		if _, ok := a.links[d]; ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now}); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(a.files)+len(a.links))
	for f := range a.files {
		if !dirs[f] {
			names = append(names, f)
		}
	}
	for l := range a.links {
		if _, ok := a.files[l]; !ok && !dirs[l] {
			names = append(names, l)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if !a.check() {
			return a.err
		}
		if target, ok := a.links[name]; ok {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: now}); err != nil {
				return err
			}
			continue
		}
		data := a.files[name]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
