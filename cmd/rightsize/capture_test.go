package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// readArchive returns the entries of a capture: name -> content ("/" ends
// directories; a symbolic link's content is "-> target").
func readArchive(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	entries := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(h.Name, "/") || strings.Contains(h.Name, "..") {
			t.Fatalf("unsafe name %q in the archive", h.Name)
		}
		if _, dup := entries[h.Name]; dup {
			t.Fatalf("%q twice in the archive", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if !strings.HasSuffix(h.Name, "/") {
				t.Fatalf("directory %q without a final slash", h.Name)
			}
		case tar.TypeSymlink:
			entries[h.Name] = "-> " + h.Linkname
			continue
		case tar.TypeReg:
			if h.Mode&0o777 != 0o644 {
				t.Errorf("%s: mode %o", h.Name, h.Mode)
			}
		default:
			t.Fatalf("%s: entry type %q", h.Name, h.Typeflag)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = string(body)
	}
	return entries
}

// unpack writes the entries below a new directory, as tar xzf would,
// symbolic links included.
func unpack(t *testing.T, entries map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range entries {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// captureArchive runs "rightsize [--root root] capture -o FILE" and returns
// the archive's bytes.
func captureArchive(t *testing.T, root string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "capture.tar.gz")
	args := []string{"capture", "-o", out}
	if root != "" {
		args = append(args, "--root", root)
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("capture: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "wrote") {
		t.Errorf("capture says %q", stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCaptureNoSecrets plants secrets (a service account token and CA
// certificate, secret environment variables in the process's and PID 1's
// environment, host names in /etc/hosts) and proves none reaches the
// archive, while what detection needs does.
func TestCaptureNoSecrets(t *testing.T) {
	root := "testdata/trees/k8s-v1-burstable"
	data := captureArchive(t, root)
	plain := tarBytes(t, data)
	for _, secret := range []string{"planted-secret", "eyJhbGciOiJSUzI1NiJ9", "BEGIN CERTIFICATE", "web-7d9c6b5f4-x2x9z", "10.244.1.7", "/usr/local/sbin"} {
		if bytes.Contains(plain, []byte(secret)) {
			t.Errorf("the archive contains %q", secret)
		}
	}
	entries := readArchive(t, data)
	for name := range entries {
		if strings.HasSuffix(name, "/token") || strings.HasSuffix(name, "/ca.crt") {
			t.Errorf("the archive has %s", name)
		}
	}
	want := map[string]string{
		"proc/self/environ": "PATH=\x00HOSTNAME=\x00KUBERNETES_SERVICE_HOST=10.96.0.1\x00KUBERNETES_SERVICE_PORT=443\x00KUBERNETES_PORT=\x00DATABASE_PASSWORD=\x00HOME=\x00",
		"proc/1/environ":    "PATH=\x00API_TOKEN=\x00",
		"etc/hosts":         "# Kubernetes-managed hosts file.\n",
		"var/run/secrets/kubernetes.io/serviceaccount/namespace": "shop",
		"proc/self/status": "Threads:\t12\nCpus_allowed:\tff\nCpus_allowed_list:\t0-7\n",
	}
	for name, body := range want {
		if got, ok := entries[name]; !ok || got != body {
			t.Errorf("%s = %q, want %q", name, got, body)
		}
	}

	// Live: a secret in this process's environment.
	const live = "planted-live-secret-3f1c"
	t.Setenv("RIGHTSIZE_TEST_APP_PASSWORD_NAME", "kept: RIGHTSIZE_ values are rightsize's")
	t.Setenv("MY_APP_PASSWORD", live)
	if runtime.GOOS != "linux" {
		return
	}
	data = captureArchive(t, "")
	if bytes.Contains(tarBytes(t, data), []byte(live)) {
		t.Errorf("the live archive contains the value of MY_APP_PASSWORD")
	}
	env := readArchive(t, data)["proc/self/environ"]
	if !strings.Contains(env, "\x00MY_APP_PASSWORD=\x00") && !strings.HasPrefix(env, "MY_APP_PASSWORD=\x00") {
		t.Errorf("the live environ lacks MY_APP_PASSWORD= (name only): %q", env)
	}
	if !strings.Contains(env, "RIGHTSIZE_TEST_APP_PASSWORD_NAME=kept") {
		t.Errorf("the live environ lost a RIGHTSIZE_ value: %q", env)
	}
}

// tarBytes decompresses an archive: every byte that would land on disk,
// headers included.
func tarBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func TestFilterEnviron(t *testing.T) {
	got := string(filterEnviron([]string{
		"GOMAXPROCS=4", "GOMEMLIMIT=1GiB", "GODEBUG=x=1", "RIGHTSIZE=off", "RIGHTSIZE_MIN_PROCS=2",
		"container=podman", "K_SERVICE=web", "NOMAD_ALLOC_ID=a", "ECS_CONTAINER_METADATA_URI_V4=http://x",
		"SECRET=s3cr3t", "NOEQUALS", "BAD NAME=s3cr3t", "=s3cr3t", "EMPTY=",
	}))
	want := "GOMAXPROCS=4\x00GOMEMLIMIT=1GiB\x00GODEBUG=x=1\x00RIGHTSIZE=off\x00RIGHTSIZE_MIN_PROCS=2\x00" +
		"container=podman\x00K_SERVICE=web\x00NOMAD_ALLOC_ID=a\x00ECS_CONTAINER_METADATA_URI_V4=http://x\x00SECRET=\x00EMPTY=\x00"
	if got != want {
		t.Errorf("filterEnviron:\n got %q\nwant %q", got, want)
	}
}

// TestCaptureRoundTrip captures each fixture tree, unpacks it and checks
// that --root on the capture gives the same --json as on the tree.
func TestCaptureRoundTrip(t *testing.T) {
	for _, name := range trees(t) {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("testdata/trees", name)
			if name == "empty" {
				var out, errb bytes.Buffer
				if code := run([]string{"capture", "--root", root, "-o", filepath.Join(t.TempDir(), "x.tar.gz")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nothing to capture") {
					t.Errorf("capture of an empty tree: exit %d, %q", code, errb.String())
				}
				return
			}
			dir := unpack(t, readArchive(t, captureArchive(t, root)))
			want := runJSON(t, "--root", root, "--json")
			got := runJSON(t, "--root", dir, "--json")
			if got != want {
				t.Errorf("--root on the capture differs from the tree:\n--- capture\n%s\n--- tree\n%s", got, want)
			}
		})
	}
}

// TestCaptureStdout checks -o -.
func TestCaptureStdout(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"capture", "--root", "testdata/trees/none-wsl", "-o", "-"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if e := readArchive(t, out.Bytes()); e["proc/self/cgroup"] != "0::/\n" {
		t.Errorf("archive on stdout: %q", e)
	}
}

// TestCaptureLive captures this system and checks that --root on the
// unpacked capture reproduces the live --json, apart from what changes
// over time or describes this process.
func TestCaptureLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("capture of a live system needs Linux")
	}
	live := runJSON(t, "--json")
	dir := unpack(t, readArchive(t, captureArchive(t, "")))
	captured := runJSON(t, "--root", dir, "--json")
	a, b := stable(t, live), stable(t, captured)
	if !reflect.DeepEqual(a, b) {
		la, _ := json.MarshalIndent(a, "", "  ")
		lb, _ := json.MarshalIndent(b, "", "  ")
		t.Errorf("capture differs from live:\n--- live\n%s\n--- capture\n%s", la, lb)
	}
}

// stable drops the fields that change over time (usage, throttling,
// events, pressure values), those that describe this process (go.gomaxprocs,
// go.gomemlimit: null under --root), and evidence about files this process
// could not read (a capture leaves them out).
func stable(t *testing.T, out string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	cpu := doc["cpu"].(map[string]any)
	delete(cpu, "usageSeconds")
	delete(cpu, "throttling")
	// Live, the Reader counts the CPUs in the affinity mask; the capture
	// carries the same mask as /proc/self/status's Cpus_allowed_list.
	if cpu["cpusSource"] == "affinity" {
		cpu["cpusSource"] = "proc"
	}
	mem := doc["memory"].(map[string]any)
	for _, k := range []string{"usage", "workingSet", "events"} {
		delete(mem, k)
	}
	delete(doc["pids"].(map[string]any), "current")
	// Pressure moves too: compared for presence and whose it is.
	if p, ok := doc["pressure"].(map[string]any); ok {
		doc["pressure"] = map[string]any{"present": true, "hostWide": p["hostWide"]}
	}
	g := doc["go"].(map[string]any)
	delete(g, "gomaxprocs")
	delete(g, "gomemlimit")
	// The process table: the same process (the capture ran in this one),
	// whose counts move; the reaper is the live process's only.
	if p, ok := doc["processes"].(map[string]any); ok {
		for _, k := range []string{"processes", "zombies", "children", "zombieChildren", "threads", "fds", "reaper"} {
			delete(p, k)
		}
	}
	// Warnings about counts that move (zombies, what is near its limit).
	var warnings []any
	for _, w := range doc["warnings"].([]any) {
		if s := w.(string); !strings.Contains(s, "zombie") && !strings.Contains(s, "within 10%") {
			warnings = append(warnings, w)
		}
	}
	doc["warnings"] = warnings
	env := doc["environment"].(map[string]any)
	var kept []any
	for _, e := range env["evidence"].([]any) {
		if !strings.Contains(e.(map[string]any)["detail"].(string), "unreadable") {
			kept = append(kept, e)
		}
	}
	env["evidence"] = kept
	return doc
}
