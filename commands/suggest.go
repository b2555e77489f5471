package commands

import "sort"

// suggest returns the choice closest to word (edit distance at most 2, or a prefix of at
// least 3 characters), or "" when nothing is close.
func suggest(word string, choices []string) string {
	sorted := append([]string(nil), choices...)
	sort.Strings(sorted)
	best, bestD := "", 3
	for _, c := range sorted {
		d := distance(word, c)
		if len(word) >= 3 && len(c) > len(word) && c[:len(word)] == word && d > 1 {
			d = 1
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
