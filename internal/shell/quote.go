package shell

import "strings"

// Quote returns s as one shell word that expands to exactly s: bare when it
// holds only characters no shell treats specially, else in single quotes
// with each ' written as '\” (close, escaped quote, reopen), the one form
// every POSIX shell reads the same way.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(r rune) bool { return !isSafe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteAll quotes each word and joins them with spaces.
func QuoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// isSafe reports whether r means nothing special to a shell in any position
// of a word: '=' only matters before a command name, ',' only inside
// braces (which are quoted); '~' is quoted (tilde expansion).
func isSafe(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_-./:,+@%=", r)
}
