package prometheus_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// metricConstants returns the values of the string constants named
// Metric* in file: every metric name the package declares.
func metricConstants(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if !strings.HasPrefix(id.Name, "Metric") || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, v)
			}
		}
		return true
	})
	if len(names) == 0 {
		t.Fatalf("no Metric* constants in %s", file)
	}
	return names
}

// Every metric the collector declares is documented, in the package
// documentation's table and in the README: docs that leave out a metric
// have drifted from the code.
func TestDocsListEveryMetric(t *testing.T) {
	for _, doc := range []string{"doc.go", "README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricConstants(t, "metrics.go") {
			if !regexp.MustCompile(`(^|[^a-z_])` + regexp.QuoteMeta(name) + `($|[^a-z_])`).Match(b) {
				t.Errorf("%s does not mention %s", doc, name)
			}
		}
	}
}
