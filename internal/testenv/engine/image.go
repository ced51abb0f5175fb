package engine

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Paths of the programs in the test image.
const (
	// ImageCLI is the rightsize command (cmd/rightsize).
	ImageCLI = "/rightsize"
	// ImageService is internal/testenv/blankservice, a service with the
	// blank import that reports on SIGUSR1.
	ImageService = "/service"
)

// Packages built into the image.
const (
	CLIPackage     = "github.com/rightsize/rightsize/cmd/rightsize"
	ServicePackage = "github.com/rightsize/rightsize/internal/testenv/blankservice"
)

// Image is the test image: a root filesystem tarball with nothing but the
// statically built command and service (and an empty /tmp), for `docker
// import` and `podman import`. No registry, no base image.
type Image struct {
	// Dir holds the binaries and the tarball.
	Dir string
	// Tar is the root filesystem tarball.
	Tar string
	// CLI and Service are the host paths of the binaries that are
	// ImageCLI and ImageService in the image.
	CLI, Service string
	// BuildTime is how long building the binaries and the tarball took.
	BuildTime time.Duration
}

// BuildImage builds CLIPackage and ServicePackage with CGO_ENABLED=0 (the
// image has no libc) and writes the tarball, all in dir. It needs the go
// command and must run inside the rightsize module (a test's working
// directory is).
func BuildImage(dir string) (*Image, error) {
	start := time.Now()
	img := &Image{Dir: dir, Tar: filepath.Join(dir, "rootfs.tar"), CLI: filepath.Join(dir, "rightsize"), Service: filepath.Join(dir, "service")}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("%w: no go command to build the image: %v", ErrUnavailable, err)
	}
	for out, pkg := range map[string]string{img.CLI: CLIPackage, img.Service: ServicePackage} {
		cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	if err := writeRootfs(img.Tar, map[string]string{ImageCLI: img.CLI, ImageService: img.Service}); err != nil {
		return nil, err
	}
	img.BuildTime = time.Since(start)
	return img, nil
}

// writeRootfs writes a tarball holding files (image path -> host file, mode
// 0755) and the directories /tmp (1777) and /etc (the engines bind-mount
// hosts, hostname and resolv.conf there).
func writeRootfs(path string, files map[string]string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	tw := tar.NewWriter(bw)
	mtime := time.Unix(0, 0)
	for _, d := range []struct {
		name string
		mode int64
	}{{"etc/", 0o755}, {"tmp/", 0o1777}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for guest, host := range files {
		data, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(guest, "/"), Mode: 0o755, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// readLines calls add for every line of r (without the newline) until r
// ends. Lines longer than 1 MiB are cut.
func readLines(r io.Reader, add func(string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			if len(line) > 1<<20 {
				line = line[:1<<20]
			}
			add(line)
		}
		if err != nil {
			return
		}
	}
}
