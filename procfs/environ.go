package procfs

import "bytes"

// ParseEnviron splits the content of /proc/<pid>/environ: NAME=value entries
// each ended by a NUL byte (proc_pid_environ(5)). Entries without '=' are
// kept as they are, as os.Environ would; empty entries are dropped.
func ParseEnviron(data []byte) []string {
	var env []string
	for len(data) > 0 {
		var e []byte
		e, data, _ = bytes.Cut(data, []byte{0})
		if len(e) > 0 {
			env = append(env, string(e))
		}
	}
	return env
}

// Getenv returns the value of key in env (a list in os.Environ form) and
// whether it is present. The last occurrence wins, as with execve(2).
func Getenv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		e := env[i]
		if len(e) > len(key) && e[len(key)] == '=' && e[:len(key)] == key {
			return e[len(key)+1:], true
		}
	}
	return "", false
}

// Environ reads <root>/proc/<pid>/environ. Reading another process's
// environment needs ptrace access: permission denied is normal for non-root
// and is returned as the error for the caller to note and go on.
func (fs FS) Environ(pid string) ([]string, error) {
	data, _, err := fs.read(maxFileSize, pid, "environ")
	if err != nil {
		return nil, err
	}
	return ParseEnviron(data), nil
}
