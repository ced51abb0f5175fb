package qemu

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cpioMember is one entry read back from a newc archive.
type cpioMember struct {
	name         string
	mode         uint32
	rmajor, rmin uint32
	data         string
}

// readNewc parses a newc archive the way the kernel does, checking the
// alignment that the kernel relies on.
func readNewc(t *testing.T, b []byte) []cpioMember {
	t.Helper()
	var out []cpioMember
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("entry at offset %d is not 4-aligned", off)
		}
		if len(b)-off < 110 || string(b[off:off+6]) != cpioMagic {
			t.Fatalf("no newc header at offset %d", off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("header at %d field %d: %v", off, i, err)
			}
			return uint32(v)
		}
		mode, size, rmajor, rminor, namesize := field(1), int(field(6)), field(9), field(10), int(field(11))
		name := string(b[off+110 : off+110+namesize])
		if !strings.HasSuffix(name, "\x00") {
			t.Fatalf("name %q at %d lacks its NUL", name, off)
		}
		name = strings.TrimSuffix(name, "\x00")
		off += 110 + namesize
		off += pad4(off)
		data := string(b[off : off+size])
		off += size + pad4(size)
		if name == cpioTrailer {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, cpioMember{name, mode, rmajor, rminor, data})
	}
}

func TestInitramfs(t *testing.T) {
	host := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(host, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	ir := Initramfs{
		Files:    map[string]string{"/bin/deep/prog": host, "/init": host},
		Data:     map[string][]byte{"/harness.json": []byte("{}"), "/etc/x": nil},
		Dirs:     []string{"/proc", "/bin", "/tmp/"},
		CharDevs: map[string][2]uint32{"/dev/console": {5, 1}},
	}
	var buf bytes.Buffer
	n, err := ir.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	var got []string
	for _, m := range readNewc(t, buf.Bytes()) {
		got = append(got, m.name+" "+strconv.FormatUint(uint64(m.mode), 8)+" "+strconv.Itoa(int(m.rmajor))+","+strconv.Itoa(int(m.rmin))+" "+m.data)
	}
	want := []string{
		"bin 40755 0,0 ",
		"bin/deep 40755 0,0 ",
		"bin/deep/prog 100755 0,0 12345",
		"dev 40755 0,0 ",
		"dev/console 20600 5,1 ",
		"etc 40755 0,0 ",
		"etc/x 100644 0,0 ",
		"harness.json 100644 0,0 {}",
		"init 100755 0,0 12345",
		"proc 40755 0,0 ",
		"tmp 40755 0,0 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("archive holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestInitramfsTrees: a tree comes with its modes and symbolic links, below
// parents that exist or are implied.
func TestInitramfsTrees(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "a/b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a/b/f"), []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a/b/f", filepath.Join(src, "a/link")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Chmod(src, 0o751); err != nil {
		t.Fatal(err)
	}
	ir := Initramfs{Trees: map[string]string{"/src/pkg/testdata": src}, Dirs: []string{"/src"}}
	var buf bytes.Buffer
	if _, err := ir.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range readNewc(t, buf.Bytes()) {
		got = append(got, m.name+" "+strconv.FormatUint(uint64(m.mode), 8)+" "+m.data)
	}
	want := []string{
		"src 40755 ",
		"src/pkg 40755 ",
		"src/pkg/testdata 40751 ",
		"src/pkg/testdata/a 40700 ",
		"src/pkg/testdata/a/b 40700 ",
		"src/pkg/testdata/a/b/f 100640 data",
		"src/pkg/testdata/a/link 120777 ../a/b/f",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("archive holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestInitramfsErrors(t *testing.T) {
	host := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(host, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, ir := range map[string]Initramfs{
		"relative path":    {Dirs: []string{"proc"}},
		"root":             {Dirs: []string{"/"}},
		"missing file":     {Files: map[string]string{"/x": host + ".missing"}},
		"directory file":   {Files: map[string]string{"/x": filepath.Dir(host)}},
		"given twice":      {Files: map[string]string{"/x": host}, Data: map[string][]byte{"/x": nil}},
		"file as a parent": {Files: map[string]string{"/x": host, "/x/y": host}},
	} {
		if _, err := ir.WriteTo(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseVerdict(t *testing.T) {
	const nonce = "abc123"
	for _, tc := range []struct {
		name, log string
		code      int
		output    string
		found     bool
	}{
		{"pass", "boot\r\nRIGHTSIZE-VM-START abc123 uptime=1s\r\nhello\r\nworld\r\n\r\nRIGHTSIZE-VM-RESULT abc123 exit=0\r\n[ 1.0] reboot: Power down\r\n", 0, "hello\nworld\n", true},
		{"fail", "RIGHTSIZE-VM-START abc123 uptime=1s\r\nno newline\r\nRIGHTSIZE-VM-RESULT abc123 exit=3\r\n", 3, "no newline", true},
		{"no output", "RIGHTSIZE-VM-START abc123 uptime=1s\r\n\r\nRIGHTSIZE-VM-RESULT abc123 exit=127\r\n", 127, "", true},
		{"other nonce", "RIGHTSIZE-VM-START abc123\r\nRIGHTSIZE-VM-RESULT old999 exit=0\r\n", 0, "", false},
		{"panic", "Kernel panic - not syncing: Attempted to kill init!\r\n", 0, "", false},
		{"cut short", "RIGHTSIZE-VM-RESULT abc123 exit=", 0, "", false},
	} {
		code, output, found := parseVerdict(tc.log, nonce)
		if code != tc.code || output != tc.output || found != tc.found {
			t.Errorf("%s: parseVerdict = %d, %q, %v; want %d, %q, %v", tc.name, code, output, found, tc.code, tc.output, tc.found)
		}
	}
}
