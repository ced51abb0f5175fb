// Package variant builds the experiments' programs in their variants (a
// build tag per blank import) with the go command.
package variant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the bench module's path.
const Module = "github.com/rightsize/rightsize/bench"

// ModDir returns the bench module's directory: the module of the current
// directory, which must be bench/ or below it.
func ModDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the bench/ directory")
	}
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(b, []byte("module "+Module+"\n")) {
		return "", fmt.Errorf("%s is not the bench module (%s): run from the bench/ directory", gomod, Module)
	}
	return filepath.Dir(gomod), nil
}

// Tags lists the variants and their build tags ("" for none).
var Tags = map[string]string{
	"none":         "",
	"rightsize":    "rightsize",
	"automaxprocs": "automaxprocs",
	"automemlimit": "automemlimit",
	// The start-up experiment's references: the library's imports with
	// no work (startexp/depsinit), and the files its init reads with no
	// library (startexp/floorinit).
	"deps":  "deps",
	"floor": "floor",
}

// Build builds package pkg (e.g. "./svc") of the bench module in variant v
// into dir and returns the binary's path. A failed build returns an error
// carrying the compiler's output, e.g. when the library's root package
// does not exist or does not compile yet.
func Build(ctx context.Context, modDir, pkg, v, dir string) (string, error) {
	return BuildEnv(ctx, modDir, pkg, v, dir, nil)
}

// BuildEnv is Build with env added to the go command's environment (for
// example CGO_ENABLED=0 for a static binary).
func BuildEnv(ctx context.Context, modDir, pkg, v, dir string, env []string) (string, error) {
	tag, ok := Tags[v]
	if !ok {
		return "", fmt.Errorf("unknown variant %q", v)
	}
	out := filepath.Join(dir, filepath.Base(pkg)+"-"+v)
	args := []string{"build", "-o", out}
	if tag != "" {
		args = append(args, "-tags", tag)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = modDir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(buf.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + " ..."
		}
		return "", fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(args, " "), modDir, err, msg)
	}
	return out, nil
}

// CleanEnv is os.Environ without the variables that change what the
// runtime and the tuning libraries do, so each run sets exactly its own.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GOMAXPROCS", k == "GOMEMLIMIT", k == "GOGC", k == "GODEBUG",
			strings.HasPrefix(k, "RIGHTSIZE"), strings.HasPrefix(k, "AUTOMEMLIMIT"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
