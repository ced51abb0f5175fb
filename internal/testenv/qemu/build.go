package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// initPackage is the import path of the guest's /init (see ./init).
const initPackage = "github.com/rightsize/rightsize/internal/testenv/qemu/init"

// Build compiles the main package pkg (an import path, or a path relative to
// the current directory, such as "./cmd/x") into out as a static
// linux/amd64 binary that can run in the guest: CGO_ENABLED=0, because the
// initramfs holds no C library. flags go to `go build` before the package.
func Build(ctx context.Context, pkg, out string, flags ...string) error {
	return goBuild(ctx, append(append([]string{"build", "-o", out}, flags...), pkg))
}

// BuildTest compiles the tests of pkg into out with `go test -c`, as a
// static linux/amd64 binary for the guest (CGO_ENABLED=0). flags go to
// `go test` before the package, for example "-tags", "x". Run the result
// in the guest with -test.run, -test.v and so on.
func BuildTest(ctx context.Context, pkg, out string, flags ...string) error {
	return goBuild(ctx, append(append([]string{"test", "-c", "-o", out}, flags...), pkg))
}

func goBuild(ctx context.Context, args []string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building for the qemu guest: %w", err)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
