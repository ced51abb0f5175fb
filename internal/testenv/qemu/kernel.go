package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The guest kernel is Debian's cloud flavour: small, and built with what the
// guest needs (cgroup2 with the cpu, memory, pids and cpuset controllers,
// PSI, initramfs support, the 8250 serial console, devtmpfs) compiled in, so
// no modules have to be loaded. The package is fetched with
// `apt-get download` and unpacked with `dpkg-deb -x` into the cache; it is
// never installed, so the host's own boot setup is left alone.

// KernelMetaPackage is the Debian package whose dependency names the current
// cloud kernel package (linux-image-<release>-cloud-amd64).
const KernelMetaPackage = "linux-image-cloud-amd64"

// Environment variables that steer where the kernel comes from.
const (
	// EnvCache names the cache directory (default: /var/cache/rightsize-qemu
	// for root, else the user's cache directory).
	EnvCache = "RIGHTSIZE_QEMU_CACHE"
	// EnvKernel names a vmlinuz to use instead of the cached one; its
	// config-<release> is looked for beside it.
	EnvKernel = "RIGHTSIZE_QEMU_KERNEL"
	// EnvKernelPackage names the Debian package PrepareKernel fetches
	// instead of the one KernelMetaPackage depends on.
	EnvKernelPackage = "RIGHTSIZE_QEMU_KERNEL_PACKAGE"
)

// Kernel is a guest kernel found on the host.
type Kernel struct {
	// Path is the vmlinuz image passed to qemu -kernel.
	Path string
	// Release is the kernel release, such as "6.1.0-57-cloud-amd64".
	Release string
	// ConfigPath is the kernel's build configuration (boot/config-*).
	ConfigPath string
	// Cmdline holds the parameters this kernel needs on top of the
	// harness's own, such as psi=1 when PSI is built in but off by default.
	Cmdline []string
}

// requiredConfig lists the options that must be built in (=y): modules
// cannot be loaded in the guest, which has only an initramfs.
var requiredConfig = []struct{ option, why string }{
	{"CONFIG_BLK_DEV_INITRD", "initramfs"},
	{"CONFIG_DEVTMPFS", "devtmpfs on /dev"},
	{"CONFIG_TMPFS", "tmpfs on /tmp"},
	{"CONFIG_SERIAL_8250_CONSOLE", "console=ttyS0"},
	{"CONFIG_CGROUPS", "cgroup2"},
	{"CONFIG_CGROUP_SCHED", "cpu controller"},
	{"CONFIG_FAIR_GROUP_SCHED", "cpu.weight"},
	{"CONFIG_CFS_BANDWIDTH", "cpu.max"},
	{"CONFIG_MEMCG", "memory controller"},
	{"CONFIG_CGROUP_PIDS", "pids controller"},
	{"CONFIG_CPUSETS", "cpuset controller"},
	{"CONFIG_PSI", "pressure stall information (cpu.pressure)"},
}

// CacheDir returns the directory that holds unpacked kernel packages.
func CacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/cache/rightsize-qemu"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "rightsize-qemu")
	}
	return filepath.Join(os.TempDir(), "rightsize-qemu")
}

// errNoKernel is wrapped by FindKernel when no kernel is there at all, as
// opposed to one that is there but unfit.
var errNoKernel = errors.New("no guest kernel")

// FindKernel locates the guest kernel without fetching anything: the one
// named by RIGHTSIZE_QEMU_KERNEL, else the newest one unpacked in CacheDir.
// It checks the kernel's config for what the guest needs.
func FindKernel() (*Kernel, error) {
	if p := os.Getenv(EnvKernel); p != "" {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKernel, err)
		}
		return newKernel(p)
	}
	dir := CacheDir()
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "boot", "vmlinuz-*"))
	var best string
	var bestTime int64
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && (best == "" || fi.ModTime().UnixNano() > bestTime) {
			best, bestTime = m, fi.ModTime().UnixNano()
		}
	}
	if best == "" {
		return nil, fmt.Errorf("%w in %s (run .ci/qemu-setup.sh, or set %s)", errNoKernel, dir, EnvKernel)
	}
	return newKernel(best)
}

// newKernel describes the vmlinuz at path and checks its config.
func newKernel(path string) (*Kernel, error) {
	release := strings.TrimPrefix(filepath.Base(path), "vmlinuz-")
	k := &Kernel{
		Path:       path,
		Release:    release,
		ConfigPath: filepath.Join(filepath.Dir(path), "config-"+release),
	}
	cfg, err := readKernelConfig(k.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", path, err)
	}
	var missing []string
	for _, r := range requiredConfig {
		switch v, ok := cfg[r.option]; {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s (%s) is not set", r.option, r.why))
		case v != "y":
			missing = append(missing, fmt.Sprintf("%s (%s) is %s, not y", r.option, r.why, v))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("kernel %s lacks built-in features the guest needs: %s", path, strings.Join(missing, "; "))
	}
	if cfg["CONFIG_PSI_DEFAULT_DISABLED"] == "y" {
		k.Cmdline = append(k.Cmdline, "psi=1")
	}
	return k, nil
}

// readKernelConfig parses a kernel .config into option -> value ("y", "m",
// a quoted string...). Options that are "not set" are absent.
func readKernelConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel config: %w", err)
	}
	defer f.Close()
	cfg := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			cfg[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kernel config %s: %w", path, err)
	}
	return cfg, nil
}

// PrepareKernel returns the cached kernel, fetching it first if the cache
// has none: it resolves the cloud kernel package through KernelMetaPackage
// (or takes RIGHTSIZE_QEMU_KERNEL_PACKAGE), downloads it with
// `apt-get download`, unpacks it with `dpkg-deb -x` and keeps only its boot
// directory in CacheDir()/<package>. The package lists must be current
// (`apt-get update`).
func PrepareKernel(ctx context.Context) (*Kernel, error) {
	k, err := FindKernel()
	if err == nil || !errors.Is(err, errNoKernel) {
		return k, err
	}
	pkg := os.Getenv(EnvKernelPackage)
	if pkg == "" {
		if pkg, err = resolveKernelPackage(ctx); err != nil {
			return nil, err
		}
	}
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".fetch-")
	if err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	defer os.RemoveAll(tmp)

	args := []string{"download"}
	if os.Geteuid() == 0 {
		// As root, apt drops to the _apt user to download, which cannot
		// write into a private temporary directory; it would fall back
		// with a warning, so say so up front.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	if out, err := command(ctx, tmp, "apt-get", append(args, pkg)...); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download %s: want one .deb, got %d", pkg, len(debs))
	}
	tree := filepath.Join(tmp, "tree")
	if out, err := command(ctx, tmp, "dpkg-deb", "-x", debs[0], tree); err != nil {
		return nil, fmt.Errorf("dpkg-deb -x %s: %v\n%s", debs[0], err, out)
	}
	// Only boot/ is needed; the modules are most of the package's size.
	final := filepath.Join(dir, pkg)
	if err := os.MkdirAll(filepath.Join(tmp, "keep"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(tree, "boot"), filepath.Join(tmp, "keep", "boot")); err != nil {
		return nil, fmt.Errorf("package %s has no boot directory: %w", pkg, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(tmp, "keep"), final); err != nil {
		return nil, err
	}
	return FindKernel()
}

var kernelPackageRE = regexp.MustCompile(`^\s*Depends:\s*(linux-image-\S+-cloud-amd64)\s*$`)

// resolveKernelPackage asks apt which kernel package the meta-package
// currently depends on.
func resolveKernelPackage(ctx context.Context) (string, error) {
	out, err := command(ctx, "", "apt-cache", "depends", KernelMetaPackage)
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %v\n%s (run apt-get update first)", KernelMetaPackage, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if m := kernelPackageRE.FindStringSubmatch(line); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("apt-cache depends %s names no linux-image-*-cloud-amd64 package (run apt-get update first):\n%s", KernelMetaPackage, out)
}

// command runs a host tool and returns its combined output.
func command(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
