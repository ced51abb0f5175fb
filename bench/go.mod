module github.com/rightsize/rightsize/bench

go 1.22.0

// Local development builds against the modules in this repository; the
// requires below name released versions (see RELEASING.md).
replace github.com/rightsize/rightsize => ../

require (
	github.com/KimMachineGun/automemlimit v1.0.1
	github.com/containerd/cgroups/v3 v3.1.3
	github.com/rightsize/rightsize v1.0.0
	go.uber.org/automaxprocs v1.6.0
	golang.org/x/sys v0.30.0
)

require (
	github.com/cilium/ebpf v0.16.0 // indirect
	github.com/containerd/log v0.1.0 // indirect
	github.com/coreos/go-systemd/v22 v22.5.0 // indirect
	github.com/docker/go-units v0.5.0 // indirect
	github.com/godbus/dbus/v5 v5.1.0 // indirect
	github.com/moby/sys/userns v0.1.0 // indirect
	github.com/opencontainers/runtime-spec v1.3.0 // indirect
	github.com/pbnjay/memory v0.0.0-20210728143218-7b4eea64cf58 // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	golang.org/x/exp v0.0.0-20241108190413-2d47ceb2692f // indirect
	google.golang.org/protobuf v1.35.2 // indirect
)
