package grade

import "github.com/sweval/sweval/internal/shell"

// Quote is shell.Quote, kept because every script builder in this package
// quotes through it; task data (file names, test ids) goes through it
// before it is put into a script.
func Quote(s string) string { return shell.Quote(s) }

// QuoteAll is shell.QuoteAll.
func QuoteAll(words []string) string { return shell.QuoteAll(words) }
