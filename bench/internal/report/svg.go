package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Point is one value of a series at a category, with an optional range
// (the spread across repetitions) drawn as an error bar. A point with
// Valid false is a gap.
type Point struct {
	Value, Lo, Hi float64
	Valid         bool
}

// Series is a named line over the chart's categories.
type Series struct {
	Name   string
	Points []Point // one per category
}

// Chart is a line chart over categorical x values (GOMAXPROCS settings),
// one line per series, error bars for the spread.
type Chart struct {
	Title, XLabel, YLabel string
	Categories            []string
	Series                []Series
	LogY                  bool // logarithmic y axis (latencies)
	Width, Height         int  // pixels; 0: 720 x 420
	// Notes are printed under the chart in small type.
	Notes []string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

// fnum formats a coordinate compactly.
func fnum(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		hi = lo + 1
	}
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var ticks []float64
	first, last := math.Floor(lo/step), math.Ceil(hi/step-1e-9)
	for k := first; k <= last; k++ {
		ticks = append(ticks, k*step)
	}
	return ticks
}

// logTicks returns 1-2-5 ticks per decade covering [lo, hi] (lo > 0).
func logTicks(lo, hi float64) []float64 {
	var ticks []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				ticks = append(ticks, v)
			}
		}
	}
	return ticks
}

func tickLabel(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return Int(int64(math.Round(v)))
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(v, 'f', 1, 64), "0"), ".")
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}

// SVG renders the chart as a standalone SVG document.
func (c *Chart) SVG() string {
	w, h := c.Width, c.Height
	if w == 0 {
		w = 720
	}
	if h == 0 {
		h = 420
	}
	const left, right, top = 80.0, 170.0, 40.0
	bottom := 70.0 + 14*float64(len(c.Notes))
	pw, ph := float64(w)-left-right, float64(h)-top-bottom

	// y range over every valid value and bar.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !p.Valid {
				continue
			}
			for _, v := range []float64{p.Value, p.Lo, p.Hi} {
				if math.IsNaN(v) || math.IsInf(v, 0) || (c.LogY && v <= 0) {
					continue
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	empty := math.IsInf(lo, 1)
	if empty {
		lo, hi = 0, 1
	}
	var ticks []float64
	if c.LogY {
		if empty {
			lo, hi = 1, 10
		}
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		if hi <= lo {
			hi = lo * 10
		}
		ticks = logTicks(lo, hi)
	} else {
		lo = 0
		if hi <= 0 {
			hi = 1
		}
		ticks = niceTicks(lo, hi*1.05, 6)
		hi = ticks[len(ticks)-1]
	}
	ymap := func(v float64) float64 {
		if c.LogY {
			if v <= 0 {
				v = lo
			}
			return top + ph - ph*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
		}
		return top + ph - ph*(v-lo)/(hi-lo)
	}
	nc := len(c.Categories)
	xmap := func(i int) float64 {
		if nc <= 1 {
			return left + pw/2
		}
		return left + pw*(float64(i)+0.5)/float64(nc)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%s" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", fnum(left), xmlEscape(c.Title))
	// grid and y ticks
	for _, t := range ticks {
		y := ymap(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`+"\n", fnum(left), fnum(y), fnum(left+pw), fnum(y))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", fnum(left-6), fnum(y+4), xmlEscape(tickLabel(t)))
	}
	// axes
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="black"/>`+"\n", fnum(left), fnum(top), fnum(left), fnum(top+ph))
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="black"/>`+"\n", fnum(left), fnum(top+ph), fnum(left+pw), fnum(top+ph))
	for i, cat := range c.Categories {
		x := xmap(i)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="black"/>`+"\n", fnum(x), fnum(top+ph), fnum(x), fnum(top+ph+4))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", fnum(x), fnum(top+ph+18), xmlEscape(cat))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", fnum(left+pw/2), fnum(top+ph+40), xmlEscape(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %s) rotate(-90)" text-anchor="middle">%s</text>`+"\n", fnum(top+ph/2), xmlEscape(c.YLabel))

	// series: offset each slightly so error bars do not overlap
	ns := len(c.Series)
	for si, s := range c.Series {
		color := palette[si%len(palette)]
		off := 0.0
		if ns > 1 {
			off = (float64(si) - float64(ns-1)/2) * 5
		}
		var path strings.Builder
		pen := false
		for i, p := range s.Points {
			if i >= nc {
				break
			}
			if !p.Valid || math.IsNaN(p.Value) || (c.LogY && p.Value <= 0) {
				pen = false
				continue
			}
			x, y := xmap(i)+off, ymap(p.Value)
			if pen {
				path.WriteString(" L")
			} else {
				path.WriteString(" M")
			}
			path.WriteString(fnum(x) + " " + fnum(y))
			pen = true
		}
		if path.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.TrimSpace(path.String()), color)
		}
		for i, p := range s.Points {
			if i >= nc || !p.Valid || math.IsNaN(p.Value) || (c.LogY && p.Value <= 0) {
				continue
			}
			x := xmap(i) + off
			if !math.IsNaN(p.Lo) && !math.IsNaN(p.Hi) && p.Hi > p.Lo && (!c.LogY || p.Lo > 0) {
				y1, y2 := ymap(p.Lo), ymap(p.Hi)
				fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", fnum(x), fnum(y1), fnum(x), fnum(y2), color)
				fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", fnum(x-3), fnum(y1), fnum(x+3), fnum(y1), color)
				fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", fnum(x-3), fnum(y2), fnum(x+3), fnum(y2), color)
			}
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3.5" fill="%s"><title>%s: %s</title></circle>`+"\n",
				fnum(x), fnum(ymap(p.Value)), color, xmlEscape(s.Name+" @ "+c.Categories[i]), xmlEscape(tickLabel(p.Value)))
		}
		// legend
		ly := top + 10 + float64(si)*18
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`+"\n", fnum(left+pw+15), fnum(ly), fnum(left+pw+35), fnum(ly), color)
		fmt.Fprintf(&b, `<text x="%s" y="%s">%s</text>`+"\n", fnum(left+pw+40), fnum(ly+4), xmlEscape(s.Name))
	}
	for i, n := range c.Notes {
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="10" fill="#555">%s</text>`+"\n", fnum(left), fnum(float64(h)-bottom+58+14*float64(i)), xmlEscape(n))
	}
	if empty {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#999">no data</text>`+"\n", fnum(left+pw/2), fnum(top+ph/2))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
