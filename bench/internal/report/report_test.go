package report

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMarkdownTable(t *testing.T) {
	tb := Table{
		Header: []string{"GOMAXPROCS", "req/s", "P99.9 (ms)"},
		Align:  []Align{Left, Right, Right},
	}
	tb.AddRow("1", "28,893", "19.70")
	tb.AddRow("default|24", "22,191", "76.19", "extra")
	tb.AddRow("2")
	got := tb.Markdown()
	want := "" +
		"| GOMAXPROCS  |  req/s | P99.9 (ms) |       |\n" +
		"| ----------- | -----: | ---------: | ----- |\n" +
		"| 1           | 28,893 |      19.70 |       |\n" +
		"| default\\|24 | 22,191 |      76.19 | extra |\n" +
		"| 2           |        |            |       |\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if (&Table{}).Markdown() != "" {
		t.Fatal("empty table renders")
	}
	// every line has the same number of unescaped pipes
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 5 {
			t.Errorf("line %q has %d pipes", l, n)
		}
	}
}

func TestFormatters(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Int(0), "0"}, {Int(999), "999"}, {Int(1000), "1,000"}, {Int(44715), "44,715"},
		{Int(-1234567), "-1,234,567"},
		{Millis(840 * time.Microsecond), "0.84"}, {Millis(26380 * time.Microsecond), "26.38"},
		{Millis(245100 * time.Microsecond), "245.1"}, {Millis(2034 * time.Millisecond), "2,034"},
		{Spread([]float64{3, 1, 2}, FmtInt), "2 (1–3)"}, {Spread([]float64{5}, FmtInt), "5"},
		{Spread(nil, FmtInt), "–"}, {FmtPercent(0.1234), "12.3%"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if Median([]float64{4, 1, 3, 2}) != 2.5 || !math.IsNaN(Median(nil)) {
		t.Error("median")
	}
}

// wellFormed parses the document and counts elements by name.
func wellFormed(t *testing.T, doc string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
	return n
}

func TestChartSVG(t *testing.T) {
	c := Chart{
		Title: "RPS <closed loop> & quota", XLabel: "GOMAXPROCS", YLabel: "req/s",
		Categories: []string{"1", "2", "4", "default"},
		Series: []Series{
			{Name: "quota 1", Points: []Point{{Value: 3500, Lo: 3400, Hi: 3600, Valid: true}, {Value: 3400, Valid: true, Lo: math.NaN(), Hi: math.NaN()}, {}, {Value: 3300, Valid: true}}},
			{Name: "quota 1.5", Points: []Point{{Value: 3570, Valid: true}, {Value: 5180, Lo: 5000, Hi: 5200, Valid: true}}},
		},
		Notes: []string{"medians of 3; bars: min–max"},
	}
	doc := c.SVG()
	n := wellFormed(t, doc)
	if n["svg"] != 1 || n["circle"] != 5 || n["path"] != 2 {
		t.Errorf("elements: %v", n)
	}
	if !strings.Contains(doc, "RPS &lt;closed loop&gt; &amp; quota") {
		t.Error("title not escaped")
	}
	// the gap at category "4" splits quota 1's line into two subpaths
	if !strings.Contains(doc, "L") || strings.Count(doc, " M") < 1 {
		t.Error("expected a gap in the line")
	}

	c.LogY = true
	c.Series[0].Points[0].Value = 0 // not drawable on a log axis
	n = wellFormed(t, c.SVG())
	if n["circle"] != 4 {
		t.Errorf("log chart: %v", n)
	}

	empty := Chart{Title: "empty", Categories: []string{"a"}, LogY: true}
	if !strings.Contains(empty.SVG(), "no data") {
		t.Error("empty chart")
	}
	wellFormed(t, empty.SVG())
}

func TestTicks(t *testing.T) {
	ticks := niceTicks(0, 5180*1.05, 6)
	if ticks[0] != 0 || ticks[len(ticks)-1] < 5180 || len(ticks) > 8 {
		t.Errorf("linear ticks %v", ticks)
	}
	lt := logTicks(0.1, 1000)
	if lt[0] != 0.1 || lt[len(lt)-1] != 1000 || len(lt) != 13 {
		t.Errorf("log ticks %v", lt)
	}
}
