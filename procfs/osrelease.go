package procfs

import "bytes"

// OSRelease reads <root>/proc/sys/kernel/osrelease, the kernel's release
// string ("6.1.0-18-cloud-amd64", "5.15.153.1-microsoft-standard-WSL2"),
// without its newline (proc_sys_kernel(5)).
func (fs FS) OSRelease() (string, error) {
	n := name("sys", "kernel", "osrelease")
	data, err := fs.root.ReadHead(n, 256)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	return string(bytes.TrimSpace(data)), nil
}
