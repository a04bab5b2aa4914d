package doc2repo

import (
	"bytes"
	"io"
	"strings"

	"github.com/sweval/sweval/harness/sandbox"
)

// stripTop rewrites a tar rooted at "dir/..." to "..." and drops .git.
func stripTop(r io.Reader) ([]byte, error) {
	files, err := sandbox.ReadFiles(r)
	if err != nil {
		return nil, err
	}
	kept := files[:0]
	for _, f := range files {
		_, rest, ok := strings.Cut(f.Name, "/")
		if !ok || rest == "" || rest == ".git" || strings.HasPrefix(rest, ".git/") {
			continue
		}
		f.Name = rest
		kept = append(kept, f)
	}
	var buf bytes.Buffer
	if err := sandbox.WriteFiles(&buf, kept...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
