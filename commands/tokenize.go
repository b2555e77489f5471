package commands

import (
	"strings"
	"unicode"

	"kuberpult/deploy"
)

// word is one word of a command line. A quoted word (any part of it in quotes) is never a
// keyword or an option, so a message like "--force" or an app named "on" survive.
type word struct {
	text   string
	quoted bool
}

// closers maps an opening quote to the quotes that close it. Chat clients turn straight
// quotes into typographic ones, on either side.
var closers = map[rune]string{
	'"': `"`, '\'': `'`,
	'“': "”“", '”': "”“", '„': "“”",
	'‘': "’‘", '’': "’‘",
}

// tokenize splits a command line like a shell does: whitespace separates words, "double" and
// 'single' quotes (or their typographic forms) group them, a backslash escapes the next
// character (not inside single quotes). A single quote right after a letter inside a word is
// an apostrophe (it’s, don't), kept as typed. A dash that chat clients made of "--" at the start
// of a word (— or –) is read as "--".
func tokenize(line string) ([]word, error) {
	var (
		words   []word
		cur     strings.Builder
		inWord  bool
		quoted  bool
		quote   rune
		escaped bool
	)
	end := func() {
		if inWord {
			words = append(words, word{text: cur.String(), quoted: quoted})
			cur.Reset()
			inWord, quoted = false, false
		}
	}
	var prev rune
	for _, r := range line {
		apostrophe := (r == '\'' || r == '’') && inWord && quote == 0 && unicode.IsLetter(prev)
		prev = r
		switch {
		case apostrophe: // it’s, don't: a letter before it, inside a word
			cur.WriteRune(r)
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'' && quote != '‘' && quote != '’':
			escaped = true
			inWord, quoted = true, true
		case quote != 0:
			if strings.ContainsRune(closers[quote], r) {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case closers[r] != "":
			quote = r
			inWord, quoted = true, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			end()
		case (r == '—' || r == '–') && !inWord:
			cur.WriteString("--")
			inWord = true
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
	end()
	return words, nil
}

// is reports whether w is the keyword k: unquoted and equal.
func (w word) is(k string) bool { return !w.quoted && w.text == k }

// keywords are the words the grammar gives a meaning; Format quotes names equal to one.
var keywords = map[string]bool{"to": true, "on": true, "team": true, "env": true, "latest": true, "for": true, "train": true}

// texts returns the words' texts.
func texts(ws []word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.text
	}
	return out
}
