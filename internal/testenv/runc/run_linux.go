package runc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

func checkAvailable() error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, a...))
	}
	// The harness's tests assert v1 paths and ParentCgroup writes v1
	// files: on a cgroup v2 only host (most current distributions) they
	// skip. Checked first, since neither root nor runc would help.
	if reason := testenv.CgroupV1Missing(); reason != "" {
		return fail("%s", reason)
	}
	if os.Geteuid() != 0 {
		return fail("runc needs root, euid is %d", os.Geteuid())
	}
	if _, err := runcBinary(); err != nil {
		return fail("runc not found (apt-get install runc, or set RIGHTSIZE_RUNC): %v", err)
	}
	hs, err := hostHierarchies()
	if err != nil {
		return fail("reading cgroup mounts: %v", err)
	}
	for _, ctrl := range []string{"cpu", "memory", "pids"} {
		var h *hierarchy
		for i := range hs {
			if !hs[i].v2 && hs[i].has(ctrl) {
				h = &hs[i]
				break
			}
		}
		if h == nil {
			return fail("needs cgroup v1 controllers (%s not on a v1 hierarchy visible here)", ctrl)
		}
		// access(2) reports EROFS for a read-only mount and EACCES
		// for permissions, the two ways a cgroupfs is not writable.
		if err := syscall.Access(h.point, 2 /* W_OK */); err != nil {
			return fail("cgroupfs %s (%s) is not writable: %v", h.point, ctrl, err)
		}
	}
	return nil
}

func run(ctx context.Context, cfg Config) (res Result, err error) {
	runcPath, err := runcBinary()
	if err != nil {
		return res, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	res.ID = newContainerID()
	hs, err := hostHierarchies()
	if err != nil {
		return res, fmt.Errorf("runc: reading cgroup mounts: %w", err)
	}
	// The harness creates the container's missing ancestor cgroups
	// itself, so that it knows they are its own and can remove them
	// safely while other tests share them; runc creates only the leaf.
	ancestors, leaves := chain(hs, func(h hierarchy) string { return containerCgroup(h, cfg.CgroupsPath, res.ID) })
	for _, l := range leaves {
		if _, err := os.Lstat(l); err == nil {
			return res, fmt.Errorf("runc: the container's cgroup %s exists already", l)
		}
	}
	lease, err := acquireAncestors(ancestors)
	if err != nil {
		return res, fmt.Errorf("runc: %w", err)
	}
	bundle, err := os.MkdirTemp("", bundlePrefix(res.ID))
	if err != nil {
		return res, errors.Join(fmt.Errorf("runc: %w", err), lease.release())
	}
	defer func() {
		if cerr := cleanup(runcPath, res.ID, bundle, leaves, lease); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	if err := buildRootfs(filepath.Join(bundle, "rootfs"), &cfg); err != nil {
		return res, fmt.Errorf("runc: rootfs: %w", err)
	}
	if err := writeSpec(bundle, buildSpec(&cfg)); err != nil {
		return res, fmt.Errorf("runc: %w", err)
	}

	logFile := filepath.Join(bundle, "runc.log")
	cmd := exec.CommandContext(ctx, runcPath, "--root", StateRoot, "--log", logFile, "--log-format", "json",
		"run", "--bundle", bundle, res.ID)
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// On timeout or cancellation kill the container, by ID, so that runc
	// (in the foreground, the container's parent) reports and exits. If
	// the container does not exist yet, kill runc itself, our own child;
	// cleanup's delete -f then removes whatever it left.
	cmd.Cancel = func() error {
		if runcCmd(runcPath, "kill", res.ID, "KILL") != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 10 * time.Second

	start := time.Now()
	runErr := cmd.Run()
	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = stdout.String(), stderr.String()

	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("runc run %s: %w", res.ID, runErr)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("runc run %s: killed after %v: %w", res.ID, res.Duration.Round(time.Millisecond), ctx.Err())
	}
	// runc exits 1 both when it fails and when the program does; its
	// log tells them apart, since a program's exit status is not logged.
	if res.ExitCode != 0 {
		if msg := runcLogErrors(logFile); msg != "" {
			return res, fmt.Errorf("runc run %s: %s", res.ID, msg)
		}
	}
	return res, nil
}

// cleanup deletes the container, removes its cgroups (runc normally has,
// this catches a runc that failed half-way), releases the ancestors and
// removes the bundle. Each step runs even if an earlier one failed.
func cleanup(runcPath, id, bundle string, leaves []string, lease *ancestorLease) error {
	var errs []error
	if err := runcCmd(runcPath, "delete", "-f", id); err != nil && !strings.Contains(err.Error(), "does not exist") {
		errs = append(errs, err)
	}
	for _, l := range leaves {
		if err := rmdirCgroup(l); err != nil {
			errs = append(errs, err)
		}
	}
	if err := lease.release(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(bundle); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("runc cleanup of %s: %w", id, errors.Join(errs...))
	}
	return nil
}

// runcCmd runs a short runc subcommand against the harness's state root.
func runcCmd(runcPath string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, runcPath, append([]string{"--root", StateRoot}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// runcLogErrors returns the messages of the error and fatal entries in
// runc's JSON log, joined, or "" when there are none.
func runcLogErrors(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	var msgs []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		var e struct{ Level, Msg string }
		if json.Unmarshal(line, &e) == nil && (e.Level == "error" || e.Level == "fatal") {
			msgs = append(msgs, e.Msg)
		}
	}
	return strings.Join(msgs, "; ")
}
