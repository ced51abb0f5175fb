// Package work is the per-request workload of the experiments' service: a
// fixed amount of CPU work and allocation, the same for every setting.
package work

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
)

type item struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Score float64  `json:"score"`
}

// Request does one request's work: it builds a list of records (small
// allocations with pointers), sorts it, encodes it as JSON (about 20 KB,
// more allocation), and hashes the encoding a few times (pure CPU). seed
// varies the data. The result is the hex digest. About 250 µs of CPU and
// 60 KB in about 970 allocations on the 2-core development VM.
func Request(seed uint64) string {
	const n = 160
	items := make([]*item, n)
	x := seed*6364136223846793005 + 1442695040888963407
	for i := range items {
		x = x*6364136223846793005 + 1442695040888963407
		it := &item{ID: i, Score: float64(x>>11) / (1 << 53)}
		it.Name = "item-" + strconv.FormatUint(x>>40, 36)
		it.Tags = []string{"t" + strconv.Itoa(i%7), "g" + strconv.Itoa(int(x%13))}
		items[i] = it
	}
	sort.Slice(items, func(a, b int) bool { return items[a].Score < items[b].Score })
	buf, err := json.Marshal(items)
	if err != nil {
		panic(err)
	}
	// A request-sized scratch buffer (reading a body, building a reply).
	scratch := make([]byte, 2*len(buf)+4<<10)
	for off := 0; off < len(scratch); off += copy(scratch[off:], buf) {
	}
	sum := sha256.Sum256(scratch)
	for i := 0; i < 8; i++ {
		h := sha256.New()
		h.Write(sum[:])
		h.Write(buf)
		h.Sum(sum[:0])
	}
	return hex.EncodeToString(sum[:])
}

// Ballast is long-lived, pointer-rich data the garbage collector has to
// mark on every cycle, as a service's caches and connection state do.
type Ballast struct {
	nodes []*node
}

type node struct {
	next *node
	name string
	val  [6]int64
}

// NewBallast allocates about mib MiB of linked nodes.
func NewBallast(mib int) *Ballast {
	const nodeSize = 8 + 16 + 48 + 16 // node plus its name, roughly
	n := mib << 20 / nodeSize
	b := &Ballast{nodes: make([]*node, n)}
	var prev *node
	for i := range b.nodes {
		nd := &node{next: prev, name: "n" + strconv.Itoa(i)}
		b.nodes[i] = nd
		prev = nd
	}
	return b
}

// Len keeps the ballast reachable.
func (b *Ballast) Len() int { return len(b.nodes) }
