// Package reaper reaps the orphaned zombie processes that a Go program
// inherits as PID 1 of its container, without taking exit statuses from
// os/exec.
//
// # The problem
//
// A process that exits stays in the process table as a zombie, holding its
// PID, until its parent waits for it. When the parent dies first, the
// kernel gives the orphan to PID 1 of its PID namespace. In a container
// without an init (distroless images, a Go binary as the entrypoint) PID 1
// is the Go service, which never waits for children it did not start. The
// orphans come from processes started into the container from outside: an
// exec probe the kubelet runs (`sh -c 'check &'`, a timed-out probe killed
// while its children live on), `kubectl exec` or `docker exec` sessions, a
// shell script the service runs that backgrounds a command. Their zombies
// pile up until pids.max (which counts them, and every thread) or the
// node's PID space runs out; then fork and thread creation fail with
// EAGAIN. Measured (internal/e2e TestReaperPidsMax, runc, pids.max 64):
// without a reaper 50 orphans of a helper filled the cgroup and every one
// of the service's next 5 commands failed with "fork/exec: resource
// temporarily unavailable"; with the reaper 120 orphans left nothing behind
// and the service's commands ran.
//
// # How it reaps
//
// Start acts only in PID 1 of a PID namespace (or, with WithSubreaper, in a
// child subreaper). On every SIGCHLD (os/signal, a channel of one) and on a
// safety tick (DefaultInterval) it lists the process's zombie children,
// from the children files of its threads, /proc/self/task/<tid>/children,
// and each child's /proc/<pid>/stat (or, on kernels without
// CONFIG_PROC_CHILDREN, from every /proc/<pid>/stat whose parent is this
// process). It reaps each chosen one by PID with
// waitid(P_PID, pid, WEXITED|WNOHANG); it never waits on -1 (P_ALL), which
// is what other Go reapers do and what takes os/exec's statuses.
//
// Which zombies it chooses is its Mode. ModeOrphans (the default) leaves
// every child this process holds a pidfd for. Since Go 1.23,
// os.StartProcess, and so os/exec, clones each child with CLONE_PIDFD and
// keeps the pidfd until Wait (or Release), on kernels where pidfds work; a
// pidfd shows in /proc/self/fdinfo/<fd> as a "Pid:" line. The reaper
// lists the zombies first and the pidfds second: a child os/exec started
// had its pidfd before it could exit, so a zombie of os/exec's is always
// found among the pidfds, unless its Wait reaped it in between, and then
// the reaper's waitid finds nothing (ECHILD) and moves on. What is left to
// reap are the orphans, and children whose Process was released.
//
// Whether pidfds protect os/exec's children is decided once, at Start: the
// program must be built with Go 1.23 or later (a go1.23 build tag; the
// runtime.Version of the program is reported), and the kernel must pass
// the checks the os package itself makes: pidfd_open(getpid()) works,
// waitid(P_PIDFD) on it answers ECHILD, pidfd_send_signal(0) works, and
// clone with CLONE_PIDFD works, probed through syscall.ForkExec (the path
// os.StartProcess takes) asked for a pidfd and given a program that cannot
// exist: ENOENT from the exec means the clone with its pidfd succeeded.
// Where any check fails (Go before 1.23, Linux before 5.4, a seccomp
// filter, an emulator such as qemu-user 7.2 that has pidfd_open but not
// CLONE_PIDFD) os/exec's children cannot be told from orphans, and a
// reaper in ModeOrphans does nothing; its Reason says why.
//
// ModeAll (WithReapAll, RIGHTSIZE_REAPER=all) reaps every zombie child.
// That is what tini and other inits do, and it is safe for them because
// their only child is the program they supervise. In the program itself it
// has a cost: a child os/exec started that exits between a scan and its
// cmd.Wait is reaped by the reaper, and Wait then fails with ECHILD
// ("waitid: no child processes"; TestReapAllStealsExecStatus shows it) and
// the exit status is lost. Use it only where pidfds are unavailable and
// the program runs no commands, or tolerates that.
//
// # What stays a risk in ModeOrphans
//
// Children that are not started by os.StartProcess have no pidfd: those of
// syscall.ForkExec and syscall.StartProcess (unless given SysProcAttr.PidFD
// and kept open), and those a C library forks through cgo (system(3),
// popen(3), posix_spawn(3)). Such a child that exits before its parent's
// wait4 by PID is reaped here, and that wait fails with ECHILD. Another
// reaper in the program that waits on -1 takes os/exec's statuses whatever
// this package does; the two together only race for the orphans. PIDs
// are named, not pinned: if os/exec's Wait reaps a zombie between the
// reaper's two lists, and the kernel hands the same PID to a new child
// that exits before the reaper's waitid, that child is reaped here. The
// kernel allocates PIDs in a cycle over pid_max (32,768 or 4,194,304), so
// that takes pid_max forks within one scan of some tens of microseconds;
// and a live child of that PID is never touched (WNOHANG, exited children
// only).
//
// The Go runtime does not use SIGCHLD: it installs a handler that ignores
// the signal unless os/signal asks for it, and os/exec waits with
// waitid on the pidfd (or wait4 on the PID), never on the signal. Asking
// for SIGCHLD sets no SIG_IGN and no SA_NOCLDWAIT, so the kernel still
// keeps zombies for their Wait. A program that calls
// signal.Reset(syscall.SIGCHLD) stops the notifications; the safety tick
// still reaps, a second later.
//
// # Cost
//
// A scan allocates nothing (testing.AllocsPerRun: 0, with nothing to reap
// and with an os/exec zombie left to its Wait): the directories are kept
// open and listed with getdents64 into fixed buffers, files are read into
// fixed buffers through the module's one file layer (internal/rootfs). On
// the development machine (Linux 6.18, 2 cores) a scan with nothing to
// reap took 20–70 µs, depending on the thread count; one that finds an
// os/exec zombie and lists the pidfds about twice that. Reaping takes one
// waitid per zombie. Measured in a runc container, the time from SIGKILL
// of three adopted orphans to all three reaped was 1.7–3.5 ms, while the
// service ran 1,000 os/exec commands (8 workers; some killed, some waited
// 60 ms late) that all got their real exit status, with no ECHILD; in the
// cgroup v2 qemu guest under emulation, 150–170 ms.
//
// # On by default?
//
// The blank import of package rightsize should start the reaper in
// ModeOrphans by default, and never in ModeAll. The reasons:
//
//   - It acts only where the kernel has made the process responsible: PID
//     1 of its namespace. Everywhere else (a process under tini, dumb-init,
//     docker --init, a pod with shareProcessNamespace, any process not
//     PID 1) Start does nothing.
//   - There, nobody else reaps: without it every orphan of a probe or an
//     exec session leaks a PID for the life of the container, and the
//     failure, when it comes, is fork and thread creation failing with
//     EAGAIN, which a Go program turns into a fatal "failed to create new
//     OS thread".
//   - In ModeOrphans it is invisible to os/exec: it reaps only zombies no
//     pidfd refers to, and it declines wherever the pidfd rule does not
//     hold (Go before 1.23, old kernels), so a program built with an old
//     Go gets nothing rather than lost statuses.
//   - Its cost is a goroutine that sleeps, and a scan per SIGCHLD that
//     allocates nothing.
//
// The one risk left is a PID 1 program that starts children outside
// os.StartProcess and waits for them by PID (above). It is rare in the
// programs this library is for, and RIGHTSIZE_REAPER=off turns the reaper
// off without a rebuild.
//
// # Environment
//
// RIGHTSIZE_REAPER (EnvReaper) is the operator's switch and wins over the
// options: "off" turns the reaper off, "on" selects ModeOrphans, "all"
// ModeAll. Unset, the options decide; another value is ignored and named
// in Reason.
//
// Outside Linux, Start returns a Reaper that does nothing.
package reaper
