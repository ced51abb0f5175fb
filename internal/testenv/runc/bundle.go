package runc

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// rootfsDirs are created in every rootfs: the mount points runc needs
// (/proc, /sys, /dev) and the directories programs commonly expect to
// exist. /tmp gets the sticky bit it has everywhere else.
var rootfsDirs = map[string]os.FileMode{
	"proc": 0o555, "sys": 0o555, "dev": 0o755, "etc": 0o755, "run": 0o755, "tmp": os.ModeSticky | 0o777,
}

// buildRootfs fills dir with the fixed directories, then cfg.Files (copied
// from the host, keeping the permission bits so executables stay
// executable), then cfg.Contents (mode 0644). Copies rather than hard links
// or bind mounts keep the container from changing host files.
func buildRootfs(dir string, cfg *Config) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for name, mode := range rootfsDirs {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, mode); err != nil {
			return err
		}
		// Mkdir applies the umask; the sticky bit and 0555 need Chmod.
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
	}
	for _, guest := range sortedKeys(cfg.Files) {
		dst, err := guestPath(dir, guest)
		if err != nil {
			return err
		}
		if err := copyFile(dst, cfg.Files[guest]); err != nil {
			return fmt.Errorf("file %s: %w", guest, err)
		}
	}
	for _, guest := range sortedKeys(cfg.Contents) {
		dst, err := guestPath(dir, guest)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, cfg.Contents[guest], 0o644); err != nil {
			return fmt.Errorf("content %s: %w", guest, err)
		}
	}
	return nil
}

// guestPath maps an absolute guest path to its place under rootfs and
// refuses paths that would leave it ("/../etc/passwd").
func guestPath(rootfs, guest string) (string, error) {
	if !strings.HasPrefix(guest, "/") {
		return "", fmt.Errorf("guest path %q is not absolute", guest)
	}
	rel := strings.TrimPrefix(filepath.Clean(guest), "/")
	if rel == "" || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("guest path %q does not name a file inside the rootfs", guest)
	}
	return filepath.Join(rootfs, rel), nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// OpenFile's permission is filtered by the umask.
	return os.Chmod(dst, st.Mode().Perm())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
