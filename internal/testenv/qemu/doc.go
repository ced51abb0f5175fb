// Package qemu boots a throwaway Linux guest under qemu to run tests on a
// real cgroup v2 machine, which the cgroup v1 (hybrid) CI hosts are not.
//
// The guest is pure emulation (qemu -accel tcg, no KVM needed) of a PC with
// as many vCPUs as a test asks for, running Debian's cloud kernel (see
// FindKernel and .ci/qemu-setup.sh) with an initramfs that this package
// writes itself: a static /init (./init), /harness.json telling it what to
// run, and the files of Config.Files, typically a test binary made with
// BuildTest. /init mounts cgroup2 at /sys/fs/cgroup with the cpu, memory,
// pids and cpuset controllers enabled in the root's cgroup.subtree_control,
// runs the command as root in the root cgroup with its output on the serial
// console, prints a verdict line and powers off. A boot takes about four
// seconds.
//
// qemu exits with status 0 even after a kernel panic, so Run judges only by
// the verdict line, which carries a random nonce per boot.
//
// Under emulation on a loaded host a guest can hang for good (its timers
// stop, its vCPUs no longer run) without a word on the console. /init
// therefore beats once a second on a second serial port, which qemu writes
// to a file; a guest that misses its beats for Config.HangGrace is stopped
// and booted once more, as is a boot that never reaches /init. A guest that
// never beats at all has no second serial port: that is reported, and not
// booted again.
//
// A test in another package uses it like this:
//
//	func TestInGuest(t *testing.T) {
//		if os.Getenv("IN_GUEST") == "1" {
//			// ... the checks that need cgroup v2 ...
//			return
//		}
//		qemu.Skip(t)
//		bin := filepath.Join(t.TempDir(), "pkg.test")
//		if err := qemu.BuildTest(context.Background(), ".", bin); err != nil {
//			t.Fatal(err)
//		}
//		res, err := qemu.Run(context.Background(), qemu.Config{
//			CPUs:    4,
//			Files:   map[string]string{"/bin/pkg.test": bin},
//			Command: []string{"/bin/pkg.test", "-test.run=^TestInGuest$", "-test.v"},
//			Env:     []string{"IN_GUEST=1"},
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		if res.ExitCode != 0 {
//			t.Fatalf("guest test failed (exit %d):\n%s", res.ExitCode, res.Output)
//		}
//	}
package qemu
