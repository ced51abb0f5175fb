package runc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
)

// Everything the harness names on the host carries "rightsize" so that
// leftovers of a crashed test run are recognisable and can be told apart
// from anything else on the machine:
//
//   - container IDs and the cgroups runc creates by default:
//     rightsize-<12 hex>
//   - names from UniqueName: rightsize-<prefix>-<8 hex>
//   - Kubernetes-shaped paths from NewKubePath, which must stay
//     valid UUIDs and hex IDs for the library's parsers: pod UIDs begin
//     72696768-7473-697a-65 and container IDs begin 726967687473697a65,
//     "rightsize" in hex.
//
// runc's state for the harness lives under StateRoot, apart from other
// runc users: `runc --root /run/rightsize/runc list` shows leftover
// containers, /run/rightsize/cgroups.created the cgroups the harness
// created (ancestors and ParentCgroup's) and has not removed yet. The first
// harness user of a later test process removes what a killed run left: the
// recorded cgroups no live user holds, with the harness-named cgroups below
// them, stopped containers and bundles (see sweep_linux.go).

// rightsizeHex is "rightsize" hex-encoded.
const rightsizeHex = "726967687473697a65"

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)[:n]
}

func newContainerID() string { return "rightsize-" + randomHex(12) }

// UniqueName returns "rightsize-<prefix>-<8 random hex digits>", a cgroup
// or file name that no other test run will use and that a person finding a
// leftover can attribute.
func UniqueName(prefix string) string {
	return fmt.Sprintf("rightsize-%s-%s", prefix, randomHex(8))
}

// KubePath is a cgroup path as the kubelet's cgroupfs driver lays it out:
// /kubepods[/<qos>]/pod<uid>/<container id>.
type KubePath struct {
	QoS         string // "burstable", "besteffort", or "" (Guaranteed has no QoS level)
	PodUID      string // a UUID, e.g. 72696768-7473-697a-65f1-0c2d4e6a8b9c
	ContainerID string // 64 hex digits
}

// NewKubePath returns a fresh KubePath for the QoS class qos. The UID and ID
// are random apart from the "rightsize" prefix (see above).
func NewKubePath(qos string) KubePath {
	r := randomHex(14)
	return KubePath{
		QoS:         qos,
		PodUID:      fmt.Sprintf("%s-%s-%s-%s%s-%s", rightsizeHex[0:8], rightsizeHex[8:12], rightsizeHex[12:16], rightsizeHex[16:18], r[:2], r[2:14]),
		ContainerID: rightsizeHex + randomHex(64-len(rightsizeHex)),
	}
}

// Pod is the pod-level cgroup path, e.g. /kubepods/burstable/pod<uid>.
func (k KubePath) Pod() string { return path.Join("/kubepods", k.QoS, "pod"+k.PodUID) }

// Container is the container's cgroup path, for Config.CgroupsPath.
func (k KubePath) Container() string { return path.Join(k.Pod(), k.ContainerID) }
