package fingerprint

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of a scan.
type Report struct {
	Leaks   []Leak        `json:"leaks"`
	Files   int64         `json:"files"`   // regular files looked at
	Bytes   int64         `json:"bytes"`   // bytes of the tar stream read
	Scanned int64         `json:"scanned"` // bytes fingerprinted (after decompression)
	Skipped []string      `json:"skipped,omitempty"`
	Allowed int64         `json:"allowed,omitempty"` // files byte-identical to an allowed (base image) file
	Elapsed time.Duration `json:"elapsed"`
}

// MBps is the scan throughput over the tar stream.
func (r Report) MBps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds()
}

// Scan reads a tar stream (a container filesystem, `tar -c /` or
// Sandbox.CopyOut) and reports files sharing reference code. It reads the
// stream once, holding one file at a time.
func (ix *Index) Scan(ctx context.Context, r io.Reader) (Report, error) {
	start := time.Now()
	ra := newReadAhead(r, 64, 256<<10)
	defer ra.close()
	cr := &countReader{r: ra}
	tr := tar.NewReader(cr)
	s := &scanner{ix: ix, rep: &Report{}}
	for {
		if err := ctx.Err(); err != nil {
			return *s.rep, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.rep.Bytes = cr.n
			return *s.rep, fmt.Errorf("read tar stream after %d files: %w", s.rep.Files, err)
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if s.skip(name) {
			continue
		}
		s.rep.Files++
		if hdr.Size > ix.opts.MaxFileBytes {
			s.rep.Skipped = append(s.rep.Skipped, "/"+name)
			continue
		}
		buf, err := s.read(tr, hdr.Size)
		if err != nil {
			return *s.rep, fmt.Errorf("read %s from tar stream: %w", name, err)
		}
		s.file("/"+name, buf, 0)
	}
	s.rep.Bytes = cr.n
	s.rep.Elapsed = time.Since(start)
	sort.SliceStable(s.rep.Leaks, func(i, j int) bool { return s.rep.Leaks[i].Path < s.rep.Leaks[j].Path })
	return *s.rep, nil
}

// readAhead reads r in its own goroutine into up to n chunks, so the
// producer (tar in a container, over the Engine's stream) keeps streaming
// while this goroutine hashes.
type readAhead struct {
	ch   chan []byte
	err  chan error
	stop chan struct{}
	cur  []byte
	done bool
	e    error
}

func newReadAhead(r io.Reader, n, size int) *readAhead {
	ra := &readAhead{ch: make(chan []byte, n), err: make(chan error, 1), stop: make(chan struct{})}
	go func() {
		defer close(ra.ch)
		for {
			buf := make([]byte, size)
			k, err := io.ReadFull(r, buf)
			if k > 0 {
				select {
				case ra.ch <- buf[:k]:
				case <-ra.stop:
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					err = io.EOF
				}
				ra.err <- err
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.done {
			return 0, ra.e
		}
		b, ok := <-ra.ch
		if !ok {
			ra.done = true
			ra.e = <-ra.err
			return 0, ra.e
		}
		ra.cur = b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

func (ra *readAhead) close() { close(ra.stop) }

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type scanner struct {
	ix  *Index
	rep *Report
	h   hasher
	buf []byte
}

func (s *scanner) skip(name string) bool {
	for _, p := range s.ix.opts.SkipPrefixes {
		if strings.HasPrefix(name+"/", p) {
			return true
		}
	}
	return false
}

func (s *scanner) read(r io.Reader, size int64) ([]byte, error) {
	if int64(cap(s.buf)) < size {
		s.buf = make([]byte, size)
	}
	s.buf = s.buf[:size]
	_, err := io.ReadFull(r, s.buf)
	return s.buf, err
}

const maxNest = 3

// isLooseObject matches ".../objects/ab/<38 hex>".
func isLooseObject(name string) bool {
	if len(name) < 50 || name[len(name)-39] != '/' || name[len(name)-42] != '/' || !strings.HasSuffix(name[:len(name)-42], "/objects") {
		return false
	}
	for _, c := range name[len(name)-41:] {
		if c != '/' && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// file dispatches one file's content by what it is.
func (s *scanner) file(name string, b []byte, depth int) {
	if s.ix.allowed(b) {
		s.rep.Allowed++
		return
	}
	s.rep.Scanned += int64(len(b))
	lower := strings.ToLower(name)
	switch {
	case depth < maxNest && bytes.HasPrefix(b, []byte("PK\x03\x04")):
		s.zip(name, b, depth)
		return
	case depth < maxNest && len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b:
		s.gzip(name, b, depth)
		return
	case depth < maxNest && isLooseObject(name):
		s.looseObject(name, b)
		return
	case depth < maxNest && strings.HasSuffix(lower, ".pack") && bytes.HasPrefix(b, []byte("PACK")):
		s.pack(name, b)
		return
	case strings.HasSuffix(lower, ".pyc") || strings.HasSuffix(lower, ".pyo"):
		s.pyc(name, b)
		return
	case depth < maxNest && (strings.HasSuffix(lower, ".tar") || bytes.HasPrefix(b[min(257, len(b)):], []byte("ustar"))):
		s.tar(name, bytes.NewReader(b), depth)
		return
	}
	if isBinary(b) {
		// Archives with prepended data (pip's older http cache entries)
		// still end with a zip directory.
		if depth < maxNest && bytes.Contains(b[max(0, len(b)-65557):], []byte("PK\x05\x06")) {
			s.zip(name, b, depth)
		}
		return
	}
	s.rep.Leaks = append(s.rep.Leaks, s.ix.match(&s.h, name, b, "text")...)
}

func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

func (s *scanner) zip(name string, b []byte, depth int) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || int64(f.UncompressedSize64) > s.ix.opts.MaxFileBytes {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, s.ix.opts.MaxFileBytes))
		rc.Close()
		if err != nil {
			continue
		}
		s.nested(name+"!"+f.Name, data, depth, "zip")
	}
}

// nested scans an archive member, relabelling text matches with how they
// were found.
func (s *scanner) nested(name string, data []byte, depth int, how string) {
	before := len(s.rep.Leaks)
	s.file(name, data, depth+1)
	for i := before; i < len(s.rep.Leaks); i++ {
		if s.rep.Leaks[i].Via == "text" {
			s.rep.Leaks[i].Via = how
		}
	}
}

func (s *scanner) gzip(name string, b []byte, depth int) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(zr, s.ix.opts.MaxFileBytes))
	if err != nil && len(data) == 0 {
		return
	}
	s.nested(name+"!", data, depth, "gzip")
}

func (s *scanner) tar(name string, r io.Reader, depth int) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size > s.ix.opts.MaxFileBytes {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return
		}
		s.nested(strings.TrimSuffix(name, "!")+"!"+hdr.Name, data, depth, "tar")
	}
}

func (s *scanner) looseObject(name string, b []byte) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(zr, s.ix.opts.MaxFileBytes))
	if err != nil && len(data) == 0 {
		return
	}
	// "blob <size>\x00<content>"
	if i := bytes.IndexByte(data, 0); i >= 0 && i < 32 {
		data = data[i+1:]
	}
	s.nested(name, data, maxNest-1, "git-object")
}

// pack walks a git pack file object by object. Whole objects (blobs) are
// inflated and scanned; deltas contribute their inserted literal bytes,
// which is where changed code lives.
func (s *scanner) pack(name string, b []byte) {
	if len(b) < 12 {
		return
	}
	count := int(uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11]))
	r := bytes.NewReader(b[12:])
	for i := 0; i < count; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return
		}
		typ := (c >> 4) & 7
		for c&0x80 != 0 {
			if c, err = r.ReadByte(); err != nil {
				return
			}
		}
		switch typ {
		case 6: // OFS_DELTA: variable-length negative offset
			for {
				if c, err = r.ReadByte(); err != nil {
					return
				}
				if c&0x80 == 0 {
					break
				}
			}
		case 7: // REF_DELTA: 20-byte base id
			if _, err := r.Seek(20, io.SeekCurrent); err != nil {
				return
			}
		}
		// bytes.Reader is an io.ByteReader, so flate stops exactly at the
		// end of the stream and zlib reads the checksum: r is positioned
		// at the next object.
		zr, err := zlib.NewReader(r)
		if err != nil {
			return
		}
		data, err := io.ReadAll(zr)
		zr.Close()
		if err != nil {
			return
		}
		if typ == 6 || typ == 7 {
			data = deltaLiterals(data)
		}
		if typ == 3 || typ == 6 || typ == 7 {
			s.nested(fmt.Sprintf("%s!object-%d", name, i), data, maxNest-1, "git-pack")
		}
	}
}

// deltaLiterals returns the bytes a git delta inserts (its copy
// instructions refer to the base object, scanned on its own).
func deltaLiterals(d []byte) []byte {
	i := 0
	for n := 0; n < 2; n++ { // source and target sizes
		for i < len(d) && d[i]&0x80 != 0 {
			i++
		}
		i++
	}
	var out []byte
	for i < len(d) {
		op := d[i]
		i++
		if op&0x80 != 0 {
			for bit := 0; bit < 7; bit++ {
				if op&(1<<bit) != 0 {
					i++
				}
			}
			continue
		}
		n := int(op)
		if n == 0 || i+n > len(d) {
			break
		}
		out = append(out, d[i:i+n]...)
		i += n
	}
	return out
}
