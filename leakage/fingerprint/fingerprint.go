package fingerprint

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Defaults, documented in Options.
const (
	DefaultK            = 40
	DefaultW            = 30
	DefaultMinFraction  = 0.30
	DefaultMinShared    = 8
	DefaultMaxFileBytes = 16 << 20
)

// Options tune fingerprinting and the leak threshold. Zero values mean the
// defaults.
type Options struct {
	// K is the k-gram length in normalised characters (default 40: about
	// one line of code without its whitespace).
	K int
	// W is the winnowing window (default 30): a shared run of K+W-1 = 69
	// normalised characters (two or three lines) always shares a
	// fingerprint.
	W int
	// MinFraction of a reference file's fingerprints a scanned file must
	// share to be a leak (default 0.30).
	MinFraction float64
	// MinShared is the absolute minimum number of shared fingerprints
	// (default 8); reference files with fewer fingerprints than this are
	// too small to attribute and are not indexed (an empty __init__.py).
	MinShared int
	// MaxFileBytes: larger files are skipped and counted (default 16 MiB).
	MaxFileBytes int64
	// ImportNames are the reference's import names; a .pyc whose embedded
	// co_filename names a module under one of them is a leak.
	ImportNames []string
	// SkipPrefixes are path prefixes (tar names without a leading "/")
	// not scanned; default proc/, sys/, dev/.
	SkipPrefixes []string
}

func (o Options) withDefaults() Options {
	if o.K <= 0 {
		o.K = DefaultK
	}
	if o.W <= 0 {
		o.W = DefaultW
	}
	if o.MinFraction <= 0 {
		o.MinFraction = DefaultMinFraction
	}
	if o.MinShared <= 0 {
		o.MinShared = DefaultMinShared
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.SkipPrefixes == nil {
		o.SkipPrefixes = []string{"proc/", "sys/", "dev/"}
	}
	return o
}

// Index holds the fingerprints of the reference files.
type Index struct {
	opts  Options
	refs  []ref
	post  map[uint64][]int32 // fingerprint → reference files holding it
	bloom []uint64           // 1<<bloomBits bits: a fast "certainly not indexed" test
	idSet map[string][]int32 // identifier → reference files (for .pyc)
	// allowHash: contents that are not leaks (files of the base image).
	allowHash map[ContentHash]bool
}

type ref struct {
	name  string
	fps   int // distinct fingerprints
	ids   int // distinct identifiers
	allow map[uint64]bool
}

// NewIndex returns an empty index.
func NewIndex(opts Options) *Index {
	return &Index{opts: opts.withDefaults(), post: map[uint64][]int32{}, idSet: map[string][]int32{}, bloom: make([]uint64, 1<<bloomBits/64)}
}

// Options returns the effective options.
func (ix *Index) Options() Options { return ix.opts }

// Len is the number of indexed reference files.
func (ix *Index) Len() int { return len(ix.refs) }

// Refs lists the indexed reference file names.
func (ix *Index) Refs() []string {
	out := make([]string, len(ix.refs))
	for i, r := range ix.refs {
		out[i] = r.name
	}
	return out
}

// Add indexes one reference file. It reports false when the file is too
// small to attribute (fewer than MinShared fingerprints).
func (ix *Index) Add(name string, src []byte) bool {
	var h hasher
	seen := map[uint64]bool{}
	var fps []uint64
	for _, f := range h.fingerprints(src, ix.opts.K, ix.opts.W) {
		if !seen[f] {
			seen[f] = true
			fps = append(fps, f)
		}
	}
	if len(fps) < ix.opts.MinShared {
		return false
	}
	id := int32(len(ix.refs))
	for _, f := range fps {
		ix.post[f] = append(ix.post[f], id)
		ix.bloom[(f>>7)&(1<<bloomBits-1)/64] |= 1 << (f >> 7 & 63)
	}
	ids := identifiers(src)
	if len(ids) >= ix.opts.MinShared {
		for _, s := range ids {
			ix.idSet[s] = append(ix.idSet[s], id)
		}
	} else {
		ids = nil
	}
	ix.refs = append(ix.refs, ref{name: name, fps: len(fps), ids: len(ids)})
	return true
}

// SourceExts are the extensions AddDir indexes.
var SourceExts = map[string]bool{".py": true, ".pyi": true, ".pyx": true, ".pxd": true, ".c": true, ".h": true, ".cc": true, ".cpp": true, ".rs": true, ".js": true, ".ts": true, ".go": true, ".sh": true}

// AddDir indexes every source file under root (by SourceExts): the
// reference's importable sources and tests, not its documentation, themes,
// static assets or build output (nonSourceDirs). Names are relative to
// root. It returns the number indexed.
func (ix *Index) AddDir(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && isNonSourceDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !SourceExts[filepath.Ext(p)] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if ix.Add(filepath.ToSlash(rel), b) {
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("fingerprint reference %s: %w", root, err)
	}
	return n, nil
}

// Allow removes from the index every fingerprint of text the agent is
// allowed to see (the spec document, the base image's own files): sharing
// it is not a leak. Reference files keep their original totals, so an
// allowed snippet only lowers what can match.
func (ix *Index) Allow(text []byte) {
	var h hasher
	for _, f := range h.fingerprints(text, ix.opts.K, ix.opts.W) {
		delete(ix.post, f)
	}
}

// Leak is one scanned file that shares too much with a reference file.
type Leak struct {
	Path      string  `json:"path"`      // file in the scanned tree (member after "!" for archives)
	Reference string  `json:"reference"` // reference file it matches
	Fraction  float64 `json:"fraction"`  // shared / reference fingerprints (or identifiers for .pyc)
	Shared    int     `json:"shared"`
	Total     int     `json:"total"`
	Via       string  `json:"via"` // text, zip, tar.gz, gzip, git-object, git-pack, pyc, pyc-filename
}

func (l Leak) String() string {
	return fmt.Sprintf("%s matches reference %s (%.0f%%, %d/%d, via %s)", l.Path, l.Reference, 100*l.Fraction, l.Shared, l.Total, l.Via)
}

// Match compares one file's content with the references.
func (ix *Index) Match(path string, content []byte, via string) []Leak {
	var h hasher
	return ix.match(&h, path, content, via)
}

const bloomBits = 22

func (ix *Index) match(h *hasher, path string, content []byte, via string) []Leak {
	fps := h.fingerprints(content, ix.opts.K, ix.opts.W)
	// Nearly every fingerprint of an unrelated file misses: test the bit
	// set first, and deduplicate only the hits.
	hits := h.hits[:0]
	for _, f := range fps {
		if ix.bloom[(f>>7)&(1<<bloomBits-1)/64]&(1<<(f>>7&63)) == 0 {
			continue
		}
		if _, ok := ix.post[f]; ok {
			hits = append(hits, f)
		}
	}
	h.hits = hits
	if len(hits) == 0 {
		return nil
	}
	slices.Sort(hits)
	hits = slices.Compact(hits)
	counts := map[int32]int{}
	for _, f := range hits {
		for _, id := range ix.post[f] {
			counts[id]++
		}
	}
	var out []Leak
	for id, n := range counts {
		r := ix.refs[id]
		frac := float64(n) / float64(r.fps)
		if n >= ix.opts.MinShared && frac >= ix.opts.MinFraction {
			out = append(out, Leak{Path: path, Reference: r.name, Fraction: frac, Shared: n, Total: r.fps, Via: via})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fraction > out[j].Fraction })
	return out
}

// hasher computes winnowed fingerprints, reusing its buffers.
type hasher struct {
	norm   []byte
	hashes []uint64
	fps    []uint64
	hits   []uint64
	keys   []uint64
	pre    []uint64
	suf    []uint64
}

const base = 1099511628211 // FNV prime, odd: a fine multiplier mod 2^64

// fingerprints returns the winnowed fingerprints of src (a hash selected
// at several positions appears once per selection; callers deduplicate).
func (h *hasher) fingerprints(src []byte, k, w int) []uint64 {
	h.norm = normalize(h.norm[:0], src)
	n := len(h.norm)
	if n < k {
		return nil
	}
	// Rabin–Karp rolling hash over k-grams, arithmetic mod 2^64.
	var pow uint64 = 1
	for i := 0; i < k-1; i++ {
		pow *= base
	}
	h.hashes = h.hashes[:0]
	var x uint64
	for i := 0; i < k; i++ {
		x = x*base + uint64(h.norm[i])
	}
	h.hashes = append(h.hashes, mix(x))
	for i := k; i < n; i++ {
		x = (x-uint64(h.norm[i-k])*pow)*base + uint64(h.norm[i])
		h.hashes = append(h.hashes, mix(x))
	}
	h.fps = h.fps[:0]
	hs := h.hashes
	if len(hs) <= w {
		m := hs[0]
		for _, v := range hs {
			m = min(m, v)
		}
		return append(h.fps, m)
	}
	h.fps = h.winnow(h.fps, hs, w)
	return h.fps
}

// winnow appends the winnowed fingerprints of hs: for every window of w
// consecutive hashes its minimum (by the hash's top 32 bits, the rightmost
// on ties), recorded when the selected position changes. Window minima come
// from van Herk/Gil-Werman block prefix and suffix minima: three branch-free
// passes instead of a deque whose pops mispredict on random hashes.
func (h *hasher) winnow(out, hs []uint64, w int) []uint64 {
	n := len(hs)
	if cap(h.keys) < n {
		h.keys = make([]uint64, n)
		h.pre = make([]uint64, n)
		h.suf = make([]uint64, n)
	}
	keys, pre, suf := h.keys[:n], h.pre[:n], h.suf[:n]
	// key: top 32 bits of the hash, then the position inverted so that
	// the smaller key is the rightmost among equal hashes.
	for i, v := range hs {
		keys[i] = v&^0xFFFFFFFF | uint64(0xFFFFFFFF-uint32(i))
	}
	for b := 0; b < n; b += w {
		e := min(b+w, n)
		pre[b] = keys[b]
		for i := b + 1; i < e; i++ {
			pre[i] = min(pre[i-1], keys[i])
		}
		suf[e-1] = keys[e-1]
		for i := e - 2; i >= b; i-- {
			suf[i] = min(suf[i+1], keys[i])
		}
	}
	last := -1
	for i := w - 1; i < n; i++ {
		m := min(suf[i-w+1], pre[i])
		pos := int(0xFFFFFFFF - uint32(m))
		if pos != last {
			last = pos
			out = append(out, hs[pos])
		}
	}
	return out
}

// mix scrambles the rolling hash so window minima are uniform.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// normalize drops whitespace and '#' comments (outside quotes on the same
// line), appending the rest to dst. Python is the target; for other
// languages it still removes whitespace, which is what matters most.
func normalize(dst, src []byte) []byte {
	var quote byte
	comment := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			comment = false
			if quote == '"' || quote == '\'' {
				// Unterminated single-line string: triple quotes span
				// lines, so keep state only if we can't tell; reset.
				quote = 0
			}
			continue
		case comment:
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			continue
		case quote != 0:
			if c == '\\' && i+1 < len(src) {
				dst = append(dst, c, src[i+1])
				i++
				continue
			}
			if c == quote {
				quote = 0
			}
		case c == '#':
			comment = true
			continue
		case c == '"' || c == '\'':
			quote = c
		}
		dst = append(dst, c)
	}
	return dst
}

var reIdent = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]{3,}`)

// stopIdents are too common to attribute a .pyc to a reference file.
var stopIdents = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`self True False None return import from class lambda while yield
	assert raise except finally with async await global nonlocal elif else pass break continue print
	isinstance len range list dict tuple str int float bool object super type property staticmethod
	classmethod append items keys values format join split strip open encoding utf-8 utf8 args kwargs
	value name data result key cls other None __init__ __name__ __main__ __all__ __doc__ __module__
	__qualname__ __class__ __file__ __version__ annotations typing Optional Union Any List Dict Tuple
	pytest test_ tests fixture mark parametrize raises ValueError TypeError KeyError IndexError
	Exception RuntimeError NotImplementedError AttributeError enumerate sorted reversed zip map filter
	sum min max abs getattr setattr hasattr repr hash iter next callable`) {
		stopIdents[w] = true
	}
}

// identifiers returns the distinct identifiers (4+ chars, not on the stop
// list) of Python source, comments excluded.
func identifiers(src []byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 && strings.Count(line[:i], "'")%2 == 0 && strings.Count(line[:i], `"`)%2 == 0 {
			line = line[:i]
		}
		for _, w := range reIdent.FindAllString(line, -1) {
			if !seen[w] && !stopIdents[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}
