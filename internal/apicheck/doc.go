// Package apicheck holds the API check: api/rightsize.txt lists the
// exported API of every package of the library module, and its test fails
// when the API changes without that file changing, the habit of the Go
// project's api/ directory. A change of the API is a decision: make it,
// then run
//
//	go test ./internal/apicheck -update
//
// and commit the new file with the change, where a reviewer sees it.
package apicheck
