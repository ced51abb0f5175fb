package depsinit

import (
	"go/parser"
	"go/token"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSameAsLibrary: the list is the library's dependency graph outside
// the module (and outside the runtime and the standard library's internal
// packages, which every program has or cannot import), so a new dependency of the library shows up here.
func TestSameAsLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/rightsize/rightsize").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	var want []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/rightsize/") || strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "vendor/") || strings.Contains(p, "/internal") || p == "unsafe" || p == "runtime" {
			continue
		}
		want = append(want, p)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "depsinit.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		got = append(got, p)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("depsinit imports\n%v\nthe library depends on\n%v\n(regenerate the import list)", got, want)
	}
}
