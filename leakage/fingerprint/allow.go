package fingerprint

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ContentHash is the SHA-256 of a file's bytes.
type ContentHash [sha256.Size]byte

// HashOf returns b's content hash.
func HashOf(b []byte) ContentHash { return sha256.Sum256(b) }

// AllowHashes marks files with these contents as not leaks, wherever they
// are: a file byte-identical to one of the base image (taken before the
// reference was installed) was there for every task, so sharing code with
// the reference is the reference's doing, not a leak (a vendored pygments
// .pyc inside pip matched a reference's copied style module).
func (ix *Index) AllowHashes(hs map[ContentHash]bool) {
	if ix.allowHash == nil {
		ix.allowHash = map[ContentHash]bool{}
	}
	for h := range hs {
		ix.allowHash[h] = true
	}
}

// allowed reports whether b is byte-identical to an allowed file.
func (ix *Index) allowed(b []byte) bool {
	return len(ix.allowHash) > 0 && ix.allowHash[HashOf(b)]
}

// HashTar returns the content hash of every regular file in a tar stream
// (a base image's filesystem, `tar -C / -c .`), for AllowHashes. Files
// larger than maxBytes (0: no limit) are left out.
func HashTar(ctx context.Context, r io.Reader, maxBytes int64) (map[ContentHash]bool, error) {
	out := map[ContentHash]bool{}
	tr := tar.NewReader(r)
	h := sha256.New()
	for {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("hash base files: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("hash base files: read tar: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || maxBytes > 0 && hdr.Size > maxBytes || strings.HasPrefix(hdr.Name, "./proc/") {
			continue
		}
		h.Reset()
		if _, err := io.Copy(h, tr); err != nil {
			return out, fmt.Errorf("hash base files: %s: %w", hdr.Name, err)
		}
		var c ContentHash
		copy(c[:], h.Sum(nil))
		out[c] = true
	}
}

// nonSourceDirs are reference directories that hold no importable code or
// tests: documentation, its themes and static assets, build output,
// virtual environments. Their files (a docs theme's pygments style module,
// bundled JavaScript) also exist outside the reference, so fingerprinting
// them makes leaks of what is not the reference's.
var nonSourceDirs = map[string]bool{
	"docs": true, "doc": true, "_docs": true, "_static": true, "_templates": true, "_themes": true,
	"themes": true, "static": true, "site": true, "htmlcov": true, "build": true, "dist": true,
	"node_modules": true, ".tox": true, ".nox": true, ".venv": true, "venv": true, ".eggs": true,
	"site-packages": true, "dist-packages": true, ".git": true, "__pycache__": true,
}

func isNonSourceDir(name string) bool {
	return nonSourceDirs[strings.ToLower(name)] || strings.HasSuffix(name, ".egg-info") || strings.HasSuffix(name, ".dist-info")
}
