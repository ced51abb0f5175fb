//go:build !unix

package rightsizeexpvar_test

import "testing"

func mkfifo(t *testing.T, path string) { t.Skip("no FIFOs here") }
