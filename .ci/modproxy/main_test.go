package main

import (
	archivezip "archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// A repository with a root module, a nested module, an ignored file and an
// untracked one: the root zip leaves out the nested module and the ignored
// file, the nested zip gets the repository's LICENSE, and the proxy layout
// has list, .info, .mod and .zip.
func TestPublish(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/Root\n\ngo 1.22\n")
	write("root.go", "package root\n")
	write("LICENSE", "license text\n")
	write(".gitignore", "*.out\n")
	write("build.out", "ignored\n")
	write("sub/go.mod", "module example.com/Root/sub\n\ngo 1.22\n\nrequire example.com/Root v1.2.3\n\nreplace example.com/Root => ../\n")
	write("sub/sub.go", "package sub\n")
	write("inner/inner.go", "package inner\n")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t",
			"GIT_COMMITTER_DATE=2024-05-06T07:08:09Z", "GIT_AUTHOR_DATE=2024-05-06T07:08:09Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "go.mod", "root.go", "LICENSE", ".gitignore", "sub")
	git("commit", "-q", "-m", "x")
	write("untracked.go", "package root\n") // not yet added: part of the checkout

	tm, err := infoTime(repo, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC); !tm.Equal(want) {
		t.Errorf("info time %v, want the commit's %v", tm, want)
	}
	out := t.TempDir()
	var sums string
	for _, dir := range []string{".", "sub"} {
		s, err := publish(out, repo, dir, "v1.2.3", tm)
		if err != nil {
			t.Fatal(err)
		}
		sums += s
	}
	if n := strings.Count(sums, "\n"); n != 4 || !strings.Contains(sums, "example.com/Root/sub v1.2.3/go.mod h1:") {
		t.Errorf("go.sum lines:\n%s", sums)
	}

	// The upper-case letter is escaped as the go command expects.
	root := filepath.Join(out, "example.com", "!root", "@v")
	if got := zipNames(t, filepath.Join(root, "v1.2.3.zip")); !reflect.DeepEqual(got, []string{
		".gitignore", "LICENSE", "go.mod", "inner/inner.go", "root.go", "untracked.go",
	}) {
		t.Errorf("root zip: %q", got)
	}
	if got := zipNames(t, filepath.Join(out, "example.com", "!root", "sub", "@v", "v1.2.3.zip")); !reflect.DeepEqual(got, []string{
		"LICENSE", "go.mod", "sub.go",
	}) {
		t.Errorf("nested zip: %q", got)
	}
	for name, want := range map[string]string{
		"list":        "v1.2.3\n",
		"v1.2.3.mod":  "module example.com/Root\n\ngo 1.22\n",
		"v1.2.3.info": `{"Version":"v1.2.3","Time":"2024-05-06T07:08:09Z"}` + "\n",
	} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}

	// A second version joins the list, in semver order.
	if _, err := publish(out, repo, ".", "v1.10.0", tm); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(out, repo, ".", "v1.9.0", tm); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "list")); string(b) != "v1.2.3\nv1.9.0\nv1.10.0\n" {
		t.Errorf("list: %q", b)
	}

	// A version the go command would not accept is refused.
	for _, v := range []string{"1.2.3", "v1.2", "v2.0.0"} {
		if _, err := publish(out, repo, ".", v, tm); err == nil {
			t.Errorf("version %s accepted", v)
		}
	}
}

func zipNames(t *testing.T, name string) []string {
	t.Helper()
	r, err := archivezip.OpenReader(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var names []string
	for _, f := range r.File {
		_, rest, _ := strings.Cut(f.Name, "@v1.2.3/")
		names = append(names, rest)
	}
	sort.Strings(names)
	return names
}
