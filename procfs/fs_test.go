package procfs

import "testing"

func TestFSReaders(t *testing.T) {
	fs := NewFS("testdata/hybrid")
	if _, err := fs.Meminfo(); err == nil {
		t.Error("missing meminfo: want error")
	}
	live := NewFS("")
	if !live.IsLive() || live.Root() != "/" {
		t.Fatal("zero root is not live")
	}
	if (FS{}).Root() != "/" {
		t.Fatal("zero FS root")
	}
	if NewFS("testdata/hybrid").IsLive() {
		t.Fatal("fixture root reported live")
	}
}
