package commands

import (
	"strings"

	"kuberpult/deploy"
)

// tokenize splits a command line like a shell does: whitespace separates words, "double"
// and 'single' quotes group them, a backslash escapes the next character. Typographic quotes
// and dashes that chat clients substitute (“ ” ‘ ’ —) are read as their plain forms.
func tokenize(line string) ([]string, error) {
	line = normalise(line)
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, deploy.Invalidf("unterminated quote %c: close it, e.g. lock staging \"db migration\"", quote)
	}
	if escaped {
		return nil, deploy.Invalidf("the line ends with a lone backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var typographic = strings.NewReplacer(
	"“", `"`, "”", `"`, "„", `"`, "‘", "'", "’", "'",
	"—", "--", "–", "--",
)

func normalise(s string) string { return typographic.Replace(s) }
