package detect_test

import (
	"fmt"
	"path/filepath"

	"github.com/rightsize/rightsize/detect"
)

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
