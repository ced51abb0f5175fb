package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize/bench/internal/memexp"
	"github.com/rightsize/rightsize/bench/internal/variant"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
)

// The qemu guest: the hosts are cgroup v1 (hybrid), so -qemu boots the
// project's throwaway cgroup v2 guest (internal/testenv/qemu: /init mounts
// cgroup2 with cpu, cpuset, memory and pids enabled for children, and runs
// one command as root in the root cgroup). The guest has no go command, so
// memsurvive and the service variants are built static here and copied
// into its initramfs; memsurvive runs there with -bin-dir and -guest-json
// and prints its results, gzipped and base64-encoded, on lines starting
// with jsonPrefix, which this side reads off the console and writes like a
// run on the host. The guest has a loopback interface but nothing brings
// it up: the guest side does (loopbackUp).

const jsonPrefix = "MEMSURVIVE-JSON "

type guestConfig struct {
	CPUs, MemoryMB int
	Timeout        time.Duration
}

func runInGuest(ctx context.Context, cfg memexp.Config, g guestConfig, out string) (func() error, error) {
	if reason, ok := qemu.Available(); !ok {
		return nil, errors.New("qemu guest unavailable: " + reason)
	}
	modDir, err := variant.ModDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rightsize-bench-guest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	static := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}
	files := map[string]string{}
	self := filepath.Join(dir, "memsurvive")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", self, "./memsurvive")
	cmd.Dir, cmd.Env = modDir, append(os.Environ(), static...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building memsurvive for the guest: %v\n%s", err, b)
	}
	files["/bin/memsurvive"] = self
	built := map[string]bool{}
	for _, name := range cfg.Rows {
		v := memexp.Rows[name].Variant
		if built[v] {
			continue
		}
		built[v] = true
		fmt.Fprintf(os.Stderr, "building svc (%s) for the guest\n", v)
		b, err := variant.BuildEnv(ctx, modDir, "./svc", v, dir, static)
		if err != nil {
			return nil, err
		}
		files["/bin/svc-"+v] = b
	}
	args := []string{"/bin/memsurvive", "-guest-json", "-bin-dir", "/bin", "-exclusive=false",
		"-scenario", cfg.Scenario, "-rows", strings.Join(cfg.Rows, ","),
		"-limit-mib", fmt.Sprint(cfg.Limit >> 20), "-duration", cfg.Duration.String(), "-reps", fmt.Sprint(cfg.Reps),
		"-conns", fmt.Sprint(cfg.Conns), "-grow", fmt.Sprint(cfg.GrowKiB), "-garbage", fmt.Sprint(cfg.Garbage),
		"-mmap", fmt.Sprint(cfg.MmapMiB), "-child", fmt.Sprint(cfg.ChildMiB), "-seed", fmt.Sprint(cfg.Seed)}
	if cfg.LiveMiB > 0 {
		args = append(args, "-live-mib", fmt.Sprint(cfg.LiveMiB))
	} else {
		args = append(args, "-live", fmt.Sprint(cfg.LiveFrac))
	}
	if cfg.Interval != "" {
		args = append(args, "-interval", cfg.Interval)
	}
	fmt.Fprintf(os.Stderr, "booting the guest (%d vCPUs, %d MiB): %s\n", g.CPUs, g.MemoryMB, strings.Join(args, " "))
	res, err := qemu.Run(ctx, qemu.Config{CPUs: g.CPUs, MemoryMB: g.MemoryMB, Files: files, Command: args,
		Timeout: g.Timeout, Console: &lineFilter{w: os.Stderr, drop: jsonPrefix}})
	if err != nil {
		return nil, err
	}
	results, perr := parseResults(res.Output)
	if perr != nil {
		return nil, fmt.Errorf("guest exit %d, boot %v, guest %v: %v", res.ExitCode, res.BootTime.Round(time.Millisecond), res.Duration.Round(time.Second), perr)
	}
	results.Where = fmt.Sprintf("qemu guest (internal/testenv/qemu): cgroup v2, %d vCPUs under TCG emulation on this host (%s), %d MiB; boot %v, guest run %v",
		g.CPUs, hostLine(), g.MemoryMB, res.BootTime.Round(time.Millisecond), res.Duration.Round(time.Second))
	results.Config.Args = os.Args
	var runErr error
	if res.ExitCode != 0 {
		runErr = fmt.Errorf("the guest's memsurvive exited %d", res.ExitCode)
	}
	return func() error {
		if err := results.Write(out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "results in %s/results.md\n", out)
		return nil
	}, runErr
}

func hostLine() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("Linux %s", strings.TrimSpace(string(b)))
}

// emitResults prints res on w as gzipped, base64-encoded JSON, one chunk a
// line, each line starting with jsonPrefix, ended by a line "END".
func emitResults(w io.Writer, res *memexp.Results) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(res); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	s := base64.StdEncoding.EncodeToString(buf.Bytes())
	bw := bufio.NewWriter(w)
	for len(s) > 0 {
		n := min(len(s), 96)
		fmt.Fprintf(bw, "%s%s\n", jsonPrefix, s[:n])
		s = s[n:]
	}
	fmt.Fprintf(bw, "%sEND\n", jsonPrefix)
	return bw.Flush()
}

// parseResults reads what emitResults printed out of the console output.
func parseResults(output string) (*memexp.Results, error) {
	var b strings.Builder
	end := false
	for _, line := range strings.Split(output, "\n") {
		i := strings.Index(line, jsonPrefix)
		if i < 0 {
			continue
		}
		chunk := strings.TrimSpace(line[i+len(jsonPrefix):])
		if chunk == "END" {
			end = true
			break
		}
		b.WriteString(chunk)
	}
	if !end {
		return nil, errors.New("no results in the guest's output")
	}
	raw, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	var res memexp.Results
	if err := json.NewDecoder(zr).Decode(&res); err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	return &res, nil
}

// lineFilter passes the console on to w without the lines that start with
// drop.
type lineFilter struct {
	w    io.Writer
	drop string
	buf  []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := f.buf[:i+1]
		if !bytes.Contains(line, []byte(f.drop)) {
			_, _ = f.w.Write(line)
		}
		f.buf = f.buf[i+1:]
	}
}

// loopbackUp brings the loopback interface up if it is down (the qemu
// guest's /init does not), so that the service can listen on 127.0.0.1.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return fmt.Errorf("loopback: %v", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %v", err)
	}
	flags := ifr.Uint16()
	if flags&unix.IFF_UP != 0 {
		return nil
	}
	ifr.SetUint16(flags | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %v", err)
	}
	return nil
}
