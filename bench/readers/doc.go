// Package readers holds the reader benchmarks: rightsize's cgroup readers
// side by side with the floor (one pread on an open descriptor) and with
// what people use today — go.uber.org/automaxprocs, KimMachineGun/
// automemlimit and containerd/cgroups v3. Run from bench/:
//
//	go test -run XXX -bench . -count 6 ./readers/ | tee results/readers.txt
//	go run ./benchtable < results/readers.txt
//
// As root with a writable cgroupfs, TestMain first moves the test process
// into fresh child cgroups with a 2-CPU quota and a 1 GiB memory limit, so
// every library finds limits to read (as in a container) rather than
// stopping at "no limit"; it moves back and removes them at the end.
package readers
