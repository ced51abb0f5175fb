// Command modproxy writes a file-based Go module proxy (for GOPROXY=file://DIR)
// that serves modules of this repository at a version, taken from the working
// tree: what is checked out, not what is tagged. .ci/release-check uses it to
// build a consumer outside the repository exactly as a user would get the
// modules once the version is tagged.
//
//	modproxy -o DIR -v v1.0.0 [-repo ROOT] . contrib/prometheus ...
//
// Each argument is a module directory relative to ROOT (default "."). For
// each module it writes, in the proxy layout,
//
//	DIR/<escaped module path>/@v/list        versions, one a line (merged)
//	DIR/<escaped module path>/@v/<v>.info    {"Version":..., "Time":...}
//	DIR/<escaped module path>/@v/<v>.mod     the module's go.mod
//	DIR/<escaped module path>/@v/<v>.zip     the module zip
//
// and prints the go.sum lines a consumer must end up with.
//
// The zip holds what git would commit: files tracked or untracked but not
// ignored (git ls-files --cached --others --exclude-standard), with their
// working-tree content; outside a git work tree, every file of the
// directory (zip.CreateFromDir). golang.org/x/mod/zip drops what the go
// command drops: files of nested modules (a subdirectory with a go.mod),
// vendored packages, symbolic links. As the go command does for a module in
// a subdirectory of a repository, the repository's LICENSE is added to a
// module that has none of its own.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("o", "", "proxy directory to write (created if missing)")
	version := flag.String("v", "", "version to publish the modules at, e.g. v1.0.0")
	repo := flag.String("repo", ".", "repository root; module directories are relative to it")
	stamp := flag.String("time", "", "time for the .info files (RFC 3339); default: the HEAD commit's time, else now")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: modproxy -o DIR -v VERSION [-repo ROOT] [-time T] MODDIR...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || *version == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	t, err := infoTime(*repo, *stamp)
	if err != nil {
		fatal(err)
	}
	for _, dir := range flag.Args() {
		sums, err := publish(*out, *repo, dir, *version, t)
		if err != nil {
			fatal(err)
		}
		fmt.Print(sums)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "modproxy:", err)
	os.Exit(1)
}

// publish writes the module in repo/dir at version into the proxy at out and
// returns its two go.sum lines.
func publish(out, repo, dir, version string, t time.Time) (string, error) {
	modDir := filepath.Join(repo, dir)
	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return "", err
	}
	modPath := modfile.ModulePath(gomod)
	if modPath == "" {
		return "", fmt.Errorf("%s: no module line", filepath.Join(modDir, "go.mod"))
	}
	m := module.Version{Path: modPath, Version: version}
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return "", fmt.Errorf("%s: version %q is not a canonical semantic version", modPath, version)
	}
	if err := module.Check(m.Path, m.Version); err != nil {
		return "", err
	}
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return "", err
	}
	escVers, err := module.EscapeVersion(m.Version)
	if err != nil {
		return "", err
	}
	vdir := filepath.Join(out, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(vdir, escVers)

	files, err := moduleFiles(repo, dir)
	if err != nil {
		return "", err
	}
	if err := writeZip(base+".zip", m, modDir, files); err != nil {
		return "", err
	}
	if _, err := zip.CheckZip(m, base+".zip"); err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".mod", gomod, 0o644); err != nil {
		return "", err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    string
	}{m.Version, t.UTC().Format(time.RFC3339)})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".info", append(info, '\n'), 0o644); err != nil {
		return "", err
	}
	if err := addToList(filepath.Join(vdir, "list"), m.Version); err != nil {
		return "", err
	}

	zipSum, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
	if err != nil {
		return "", err
	}
	modSum, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gomod)), nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", m.Path, m.Version, zipSum, m.Path, m.Version, modSum), nil
}

// moduleFiles lists the files of the module in repo/dir as git sees them,
// with their working-tree content; nil outside a git work tree.
func moduleFiles(repo, dir string) ([]zip.File, error) {
	modDir := filepath.Join(repo, dir)
	top, err := gitOutput(modDir, "rev-parse", "--show-toplevel")
	if err != nil {
		fmt.Fprintf(os.Stderr, "modproxy: %s is not in a git work tree; taking every file of the directory\n", modDir)
		return nil, nil
	}
	out, err := gitOutput(modDir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []zip.File
	for _, p := range strings.Split(out, "\x00") {
		// --cached lists a path once per stage of an unfinished merge; a
		// tracked file deleted from the working tree is not checked out.
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		src := filepath.Join(modDir, filepath.FromSlash(p))
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		files = append(files, diskFile{path: p, src: src})
	}
	// The go command gives a module in a subdirectory the repository's
	// LICENSE when it has none of its own.
	license := filepath.Join(strings.TrimSpace(top), "LICENSE")
	if !seen["LICENSE"] && !sameDir(modDir, strings.TrimSpace(top)) {
		if _, err := os.Stat(license); err == nil {
			files = append(files, diskFile{path: "LICENSE", src: license})
		}
	}
	return files, nil
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func sameDir(a, b string) bool {
	ia, err1 := os.Stat(a)
	ib, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ia, ib)
}

// writeZip writes the module zip of m to name: the given files, or every
// file of modDir when files is nil.
func writeZip(name string, m module.Version, modDir string, files []zip.File) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if files == nil {
		return zip.CreateFromDir(f, m, modDir)
	}
	return zip.Create(f, m, files)
}

type diskFile struct{ path, src string }

func (f diskFile) Path() string                 { return f.path }
func (f diskFile) Lstat() (os.FileInfo, error)  { return os.Lstat(f.src) }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.src) }

// addToList adds version to the proxy's list file, keeping it sorted.
func addToList(name, version string) error {
	var versions []string
	if b, err := os.ReadFile(name); err == nil {
		versions = strings.Fields(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, v := range versions {
		if v == version {
			return nil
		}
	}
	versions = append(versions, version)
	semver.Sort(versions)
	return os.WriteFile(name, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

// infoTime is the time the .info files give: stamp if set, else the HEAD
// commit's, else now.
func infoTime(repo, stamp string) (time.Time, error) {
	if stamp != "" {
		return time.Parse(time.RFC3339, stamp)
	}
	cmd := exec.Command("git", "log", "-1", "--format=%ct")
	cmd.Dir = repo
	if out, err := cmd.Output(); err == nil {
		if sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(sec, 0), nil
		}
	}
	return time.Now(), nil
}
