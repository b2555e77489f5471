package reply

import (
	"strings"
)

// writeTable writes rows as columns separated by two spaces, padded by display width, so
// cells with emoji markers (two columns wide on a terminal) stay aligned. The last column
// is not padded.
func writeTable(b *strings.Builder, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	for _, row := range rows {
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
}

// displayWidth counts the terminal columns of s: the emoji Kuberpult prints take two.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case r >= 0x1F000, r >= 0x2300 && r <= 0x23FF, r >= 0x2600 && r <= 0x27BF:
			w += 2
		default:
			w++
		}
	}
	return w
}
