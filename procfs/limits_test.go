package procfs

import "testing"

func TestParseLimits(t *testing.T) {
	in := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max processes             63356                63356                processes \n" +
		"Max open files            1024                 unlimited            files     \n"
	l, err := ParseLimits([]byte(in))
	want := Limits{HasOpenFiles: true, OpenFiles: Limit{1024, Unlimited}, HasProcesses: true, Processes: Limit{63356, 63356}}
	if err != nil || l != want {
		t.Errorf("got %+v, %v; want %+v", l, err, want)
	}
	for _, bad := range []string{"", "Limit Soft Hard\n", "Max open files  x  1\n", "Max open files  1\n"} {
		if l, err := ParseLimits([]byte(bad)); err == nil {
			t.Errorf("%q: no error, %+v", bad, l)
		}
	}
	l, err = NewFS("testdata/proctable").Limits("self")
	if err != nil || l.OpenFiles != (Limit{1024, 4096}) || l.Processes.Soft != Unlimited {
		t.Errorf("fixture: %+v, %v", l, err)
	}
}

func FuzzParseLimits(f *testing.F) {
	f.Add([]byte("Max open files            1024                 unlimited            files\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLimits(data)
		if err == nil && !l.HasOpenFiles && !l.HasProcesses {
			t.Fatal("no error and nothing found")
		}
	})
}
