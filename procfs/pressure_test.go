package procfs

import (
	"testing"
	"time"
)

var psiTests = []struct {
	in      string
	want    PSI
	wantErr bool
}{
	{in: "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n",
		want: PSI{Some: PSILine{Avg10: 1.5, Avg60: 0.25, Total: 12345 * time.Microsecond}, Full: PSILine{Total: 7 * time.Microsecond}, HasFull: true}},
	{in: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", want: PSI{}},
	{in: "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
	{in: "some avg10=x avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
	{in: "some avg10=100.01 avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
	{in: "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551615\n", wantErr: true},
	{in: "some avg10=0.00 avg60=0.00 total=0\n", wantErr: true},
	{in: "some avg10=1.00 avg10=2.00 avg10=3.00 total=0\n", wantErr: true}, // a key repeated, two missing
	{in: "", wantErr: true},
}

func TestParsePSI(t *testing.T) {
	for _, tt := range psiTests {
		var got PSI
		err := ParsePSI([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParsePSI(%q) = %+v, %v; want %+v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	in := []byte(psiTests[0].in)
	var p PSI
	if n := testing.AllocsPerRun(100, func() { _ = ParsePSI(in, &p) }); n != 0 {
		t.Errorf("ParsePSI allocates %v times", n)
	}
}

func FuzzParsePSI(f *testing.F) {
	for _, tt := range psiTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p PSI
		if ParsePSI(data, &p) == nil && (p.Some.Avg10 < 0 || p.Some.Avg10 > 100 || p.Some.Total < 0) {
			t.Fatalf("accepted out-of-range %+v", p)
		}
	})
}
