package detect_test

import (
	"embed"
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/detect"
)

// The package documentation's snippet, compiled: what it prints depends on
// the machine, so it has no Output. TestDocSnippet keeps doc.go's copy the
// same.
func Example() {
	env := detect.Environment() // cached
	if env.HasKubernetes {
		log.Printf("pod %s (%s)", env.Kubernetes.PodUID, env.Kubernetes.QOSClass)
	}
}

// sources are embedded, not read at run time: the suites also run in a
// guest that has the test binary and testdata/ only.
//
//go:embed doc.go example_test.go
var sources embed.FS

// TestDocSnippet checks that the code in the package documentation (its
// tab-indented lines) is Example's body, which the compiler checks: an
// API change cannot leave the documentation behind.
func TestDocSnippet(t *testing.T) {
	read := func(name string) string {
		b, err := sources.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var doc []string
	for _, line := range strings.Split(read("doc.go"), "\n") {
		if code, ok := strings.CutPrefix(line, "//\t"); ok {
			doc = append(doc, code)
		}
	}
	_, rest, ok := strings.Cut(read("example_test.go"), "\nfunc Example() {\n")
	body, _, ok2 := strings.Cut(rest, "\n}\n")
	if !ok || !ok2 {
		t.Fatal("example_test.go has no func Example")
	}
	var example []string
	for _, line := range strings.Split(body, "\n") {
		example = append(example, strings.TrimPrefix(line, "\t"))
	}
	if got, want := strings.Join(doc, "\n"), strings.Join(example, "\n"); got != want {
		t.Errorf("doc.go's snippet differs from Example's body:\n--- doc.go\n%s\n--- Example\n%s", got, want)
	}
}

// Environment describes the process's own environment, detected once and
// cached. What it prints depends on the machine, so this example has no
// Output and is only compiled; ExampleDetect shows the same fields on a
// fixture tree.
func ExampleEnvironment() {
	env := detect.Environment()
	if !env.Container {
		fmt.Println("not in a container")
	}
	if k := env.Kubernetes; env.HasKubernetes {
		fmt.Printf("pod %s in namespace %q, QoS %s\n", k.PodUID, k.Namespace, k.QOSClass)
	}
	// Why detection concluded what it did:
	for _, e := range env.Evidence {
		fmt.Printf("%s: %s\n", e.Signal, e.Detail)
	}
}

// Detect reads a fixture tree or a captured system when given its root.
func ExampleDetect() {
	env := detect.Detect(detect.WithRoot(filepath.Join("testdata", "k8s-systemd-burstable-containerd")))
	fmt.Println(env.Container, env.Runtime, env.Orchestrator)
	fmt.Println(env.Kubernetes.PodUID)
	fmt.Println(env.Kubernetes.QOSClass, env.Kubernetes.Namespace)
	fmt.Println(env.Kubernetes.ContainerID)
	// Output:
	// true containerd kubernetes
	// 6c3e1b8f-2a4d-4e5f-9b1c-7d8e9f0a1b2c
	// Burstable shop
	// 3f9a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8
}

func ExampleParseCgroupPath() {
	cp, ok := detect.ParseCgroupPath("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod6c3e1b8f_2a4d_4e5f_9b1c_7d8e9f0a1b2c.slice/crio-3f9a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8.scope")
	fmt.Println(ok, cp.Kubernetes, cp.PodUID, cp.QOSClass, cp.Runtime)
	// Output:
	// true true 6c3e1b8f-2a4d-4e5f-9b1c-7d8e9f0a1b2c BestEffort cri-o
}

// InKubernetes is the cheap question, answered from the cached detection
// of the live process's environment: the answer depends on where the
// example runs, so it has no Output and is only compiled.
func ExampleInKubernetes() {
	if detect.InKubernetes() {
		fmt.Println("in a pod")
	}
}
