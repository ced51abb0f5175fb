//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarGz builds an archive of entries: "dir/" is a directory, "-> target"
// a symbolic link, anything else a regular file's content.
func tarGz(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		name, body := e[0], e[1]
		h := &tar.Header{Name: name, Mode: 0o644}
		switch {
		case strings.HasSuffix(name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case strings.HasPrefix(body, "-> "):
			h.Typeflag, h.Linkname = tar.TypeSymlink, strings.TrimPrefix(body, "-> ")
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestExtractTarGz: a capture's links are created as written and never
// followed, and nothing is written through one or outside the directory.
func TestExtractTarGz(t *testing.T) {
	dir := t.TempDir()
	data := tarGz(t, [][2]string{
		{"proc/", ""},
		{"proc/self/fd/3", "-> anon_inode:[pidfd]"},
		{"proc/self/stat", "1 (-) S 0"},
		{"etc/hosts", "-> /etc/hosts"},
		{"sys/fs/cgroup/memory/memory.limit_in_bytes", "-> memory.usage_in_bytes"},
		{"sys/fs/cgroup/memory/memory.usage_in_bytes", "42\n"},
	})
	if err := extractTarGz(data, dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"proc/self/fd/3": "anon_inode:[pidfd]", "etc/hosts": "/etc/hosts", "sys/fs/cgroup/memory/memory.limit_in_bytes": "memory.usage_in_bytes"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("%s: link to %q (%v), want %q", name, got, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "proc/self/stat")); err != nil || string(b) != "1 (-) S 0" {
		t.Errorf("proc/self/stat = %q, %v", b, err)
	}

	outside := t.TempDir()
	for _, tt := range []struct {
		name    string
		entries [][2]string
	}{
		{"through a link to a directory", [][2]string{{"d", "-> " + outside}, {"d/x", "written outside"}}},
		{"through a link's parent", [][2]string{{"d", "-> " + outside}, {"d/sub/", ""}}},
		{"onto a link", [][2]string{{"f", "-> " + filepath.Join(outside, "f")}, {"f", "written outside"}}},
		{"absolute", [][2]string{{"/x", "abs"}}},
		{"dot-dot", [][2]string{{"../x", "up"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := extractTarGz(tarGz(t, tt.entries), t.TempDir()); err == nil {
				t.Error("extracted")
			}
			if names, _ := os.ReadDir(outside); len(names) > 0 {
				t.Errorf("written outside: %v", names)
			}
		})
	}
}
