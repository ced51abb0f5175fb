// Package report writes the experiments' results: markdown tables and SVG
// charts written by hand (no plotting dependency).
package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Align is a column's alignment in a markdown table.
type Align int

const (
	Left Align = iota
	Right
	Center
)

// Table is a markdown table.
type Table struct {
	Header []string
	Align  []Align // per column; missing columns are left-aligned
	Rows   [][]string
}

// AddRow appends a row; cells beyond the header are kept (and get an empty
// header), missing cells are empty.
func (t *Table) AddRow(cells ...string) { t.Rows = append(t.Rows, cells) }

func escapeCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// Markdown renders t in GitHub's pipe-table syntax, columns padded so the
// source reads as a table too.
func (t *Table) Markdown() string {
	cols := len(t.Header)
	for _, r := range t.Rows {
		if len(r) > cols {
			cols = len(r)
		}
	}
	if cols == 0 {
		return ""
	}
	cell := func(r []string, i int) string {
		if i < len(r) {
			return escapeCell(r[i])
		}
		return ""
	}
	width := make([]int, cols)
	for i := range width {
		width[i] = 3
		if w := len([]rune(cell(t.Header, i))); w > width[i] {
			width[i] = w
		}
		for _, r := range t.Rows {
			if w := len([]rune(cell(r, i))); w > width[i] {
				width[i] = w
			}
		}
	}
	align := func(i int) Align {
		if i < len(t.Align) {
			return t.Align[i]
		}
		return Left
	}
	pad := func(s string, i int) string {
		n := width[i] - len([]rune(s))
		if align(i) == Right {
			return strings.Repeat(" ", n) + s
		}
		return s + strings.Repeat(" ", n)
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteString("|")
		for i := 0; i < cols; i++ {
			b.WriteString(" ")
			b.WriteString(pad(cell(r, i), i))
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(t.Header)
	b.WriteString("|")
	for i := 0; i < cols; i++ {
		d := strings.Repeat("-", width[i])
		switch align(i) {
		case Right:
			d = d[:len(d)-1] + ":"
		case Center:
			d = ":" + d[1:len(d)-1] + ":"
		}
		b.WriteString(" " + d + " |")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// Median returns the median of xs (the mean of the middle two for an even
// count); NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MinMax returns the smallest and largest of xs; NaNs for none.
func MinMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs[1:] {
		lo = math.Min(lo, x)
		hi = math.Max(hi, x)
	}
	return lo, hi
}

// Int formats n with thousands separators: 44715 -> "44,715".
func Int(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Millis formats a duration in milliseconds with 2 decimals below 100 ms,
// 1 below 1 s, none above: "0.84", "26.38", "245.1", "2034".
func Millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 100:
		return fmt.Sprintf("%.2f", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f", ms)
	default:
		return Int(int64(math.Round(ms)))
	}
}

// Spread formats a median with its range across repetitions:
// "3,512 (3,480–3,560)". With one value it is just the value.
func Spread(xs []float64, f func(float64) string) string {
	if len(xs) == 0 {
		return "–"
	}
	m := f(Median(xs))
	if len(xs) == 1 {
		return m
	}
	lo, hi := MinMax(xs)
	return fmt.Sprintf("%s (%s–%s)", m, f(lo), f(hi))
}

// FmtInt formats a float as a rounded integer with separators.
func FmtInt(x float64) string { return Int(int64(math.Round(x))) }

// FmtMillis formats nanoseconds as Millis does.
func FmtMillis(ns float64) string { return Millis(time.Duration(ns)) }

// FmtPercent formats a fraction as a percentage with one decimal.
func FmtPercent(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
