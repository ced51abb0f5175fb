package apicheck

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite api/rightsize.txt from the source")

// packages are the library's public packages, relative to the module root.
// internal/, cmd/, examples/, bench/ and contrib/ are not part of it
// (contrib modules have their own versions).
var packages = []string{".", "cgroup", "detect", "procfs", "reaper", "rightsizeexpvar", "runtimeinfo"}

const apiFile = "api/rightsize.txt"

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAPI(t *testing.T) {
	root := moduleRoot(t)
	var lines []string
	for _, pkg := range packages {
		dir := filepath.Join(root, pkg)
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			continue
		}
		l, err := apiOf(dir, importPath(pkg))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l...)
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join(root, apiFile)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/apicheck -update)", err)
	}
	if got == string(want) {
		return
	}
	have := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		have[l] = true
	}
	now := map[string]bool{}
	for _, l := range lines {
		now[l] = true
	}
	var diff []string
	for _, l := range lines {
		if !have[l] {
			diff = append(diff, "+ "+l)
		}
	}
	for l := range have {
		if !now[l] {
			diff = append(diff, "- "+l)
		}
	}
	sort.Strings(diff)
	t.Errorf("the exported API differs from %s (%d lines); if the change is meant, run\n\tgo test ./internal/apicheck -update\nand commit %s:\n%s",
		apiFile, len(diff), apiFile, strings.Join(diff, "\n"))
}

func importPath(pkg string) string {
	if pkg == "." {
		return "github.com/rightsize/rightsize"
	}
	return "github.com/rightsize/rightsize/" + pkg
}

// apiOf lists the exported API of the package in dir as seen on linux/amd64
// (the files a Linux build compiles): one line per constant, variable,
// function, method, type, struct field and interface method.
func apiOf(dir, path string) ([]string, error) {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH = "linux", "amd64"
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var out []string
	emit := func(format string, args ...any) {
		out = append(out, "pkg "+path+", "+fmt.Sprintf(format, args...))
	}
	expr := func(e ast.Expr) string {
		var b bytes.Buffer
		printer.Fprint(&b, fset, e)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				sig := expr(d.Type)
				sig = strings.TrimPrefix(sig, "func")
				if d.Recv != nil {
					recv := expr(d.Recv.List[0].Type)
					base := strings.TrimPrefix(recv, "*")
					if !ast.IsExported(base) {
						continue
					}
					emit("method (%s) %s%s", recv, d.Name.Name, sig)
					continue
				}
				emit("func %s%s", d.Name.Name, sig)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						kind := "var"
						if d.Tok == token.CONST {
							kind = "const"
						}
						for _, n := range s.Names {
							if !n.IsExported() {
								continue
							}
							if s.Type != nil {
								emit("%s %s %s", kind, n.Name, expr(s.Type))
							} else {
								emit("%s %s", kind, n.Name)
							}
						}
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						typeAPI(s, expr, emit)
					}
				}
			}
		}
	}
	return out, nil
}

func typeAPI(s *ast.TypeSpec, expr func(ast.Expr) string, emit func(string, ...any)) {
	name := s.Name.Name
	alias := ""
	if s.Assign.IsValid() {
		alias = "= "
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		emit("type %s %sstruct", name, alias)
		for _, f := range t.Fields.List {
			if len(f.Names) == 0 {
				emit("type %s struct, embedded %s", name, expr(f.Type))
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					emit("type %s struct, %s %s", name, n.Name, expr(f.Type))
				}
			}
		}
	case *ast.InterfaceType:
		emit("type %s %sinterface", name, alias)
		for _, m := range t.Methods.List {
			if len(m.Names) == 0 {
				emit("type %s interface, embedded %s", name, expr(m.Type))
				continue
			}
			for _, n := range m.Names {
				if n.IsExported() {
					emit("type %s interface, %s%s", name, n.Name, strings.TrimPrefix(expr(m.Type), "func"))
				} else {
					emit("type %s interface, unexported methods", name)
				}
			}
		}
	default:
		emit("type %s %s%s", name, alias, expr(s.Type))
	}
}
