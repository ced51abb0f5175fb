package rightsize_test

import (
	"fmt"

	"github.com/rightsize/rightsize"
)

// A service imports the package for its side effect:
//
//	import _ "github.com/rightsize/rightsize"
//
// and may report what it decided. (What it decided depends on the machine
// the example runs on, so the example has no Output and is only compiled;
// package runtimeinfo's examples show the same calls on a captured tree.)
func ExampleResult() {
	res, changes, ok := rightsize.Result()
	if !ok {
		return // RIGHTSIZE=off, or not Linux
	}
	fmt.Println(res.GOMAXPROCS.Setting, res.GOMAXPROCS.Value, res.GOMAXPROCS.Reason)
	fmt.Println(res.GOMEMLIMIT.Setting, res.GOMEMLIMIT.Value, res.GOMEMLIMIT.Reason)
	fmt.Println(len(changes), "changes by the watcher since start")
}
