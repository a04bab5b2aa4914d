package audit

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// RuleReportChannel flags package code that replaces a standard-library
// function the runner's reporting goes through (json encoding, XML
// writing, file writes, process exit): the harness's per-test records and
// JUnit report would then say what the package wants.
const RuleReportChannel = "report-channel-patch"

var reReportChannel = regexp.MustCompile(`(?m)^\s*(?:json\.(?:dumps?|JSONEncoder(?:\.\w+)?|encoder\.\w+)|(?:xml\.etree\.)?ElementTree(?:\.\w+)+|os\.(?:_exit|write|replace|rename)|sys\.exit|builtins\.(?:open|print)|io\.(?:TextIOWrapper|BufferedWriter|FileIO)\.write)\s*=[^=]|\bsetattr\s*\(\s*(?:json|os|sys|builtins|io|ElementTree)\b`)

// RuleObfuscatedTamper flags package code that reaches the test runner's
// internals or the process exit through names it hides from a plain grep:
// strings split and rejoined, reversed, rot13, escaped, built from
// character codes, or encoded (base64, hex, zlib) and executed. Honest
// library code names what it imports; it has no reason to spell
// "_pytest", "TestReport" or "_exit" in pieces.
const RuleObfuscatedTamper = "obfuscated-tamper"

var (
	// reRunnerName is what hidden code is after: pytest's internals and
	// hooks, its reports, and the ways to end the process with a chosen
	// exit code. Whole names only ("on_exit" is not "_exit").
	reRunnerName = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])(_pytest|TestReport|TerminalReporter|CollectReport|pytest_runtest_[a-z_]+|pytest_sessionfinish|pytest_collection_modifyitems|pytest_terminal_summary|LogXML|junitxml|_exit|atexit)(?:[^A-Za-z0-9_]|$)`)
	// reNameLike: a literal (or a rejoined run of them) used as a name.
	reNameLike = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	// A Python string literal on one line: optional prefix, quote, body.
	reStrLit = regexp.MustCompile(`(?i:[rbuf]{0,2})('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")`)
	// A list or bytes of small integers: character codes.
	reCodes = regexp.MustCompile(`[\[(]\s*((?:\d{1,3}\s*,\s*){3,}\d{1,3})\s*,?\s*[\])]`)
	// Executing what a decoder produced, in one statement (a method
	// named compile, re.compile, is not the builtin).
	reExecDecoded = regexp.MustCompile(`(?:^|[^.\w])(?:exec|eval|compile)\s*\([^\n]*\b(b64decode|b32decode|b85decode|a85decode|b16decode|decodebytes|unhexlify|fromhex|decompress|marshal\.loads|codecs\.decode|rot_?13)\b`)
	// Calls that turn a string into a module or attribute: a plain
	// literal naming the runner in them is indirection.
	reIndirect = regexp.MustCompile(`\b(getattr|setattr|hasattr|delattr|__import__|import_module|find_spec|vars)\s*\(|sys\.modules\s*(\[|\.get\b)|__dict__\s*\[|__builtins__`)
	// A shell decoder writing a file the interpreter or runner will read.
	reShellDecode = regexp.MustCompile(`\b(base64\s+(-d|--decode|-D)|xxd\s+-r|openssl\s+(enc\s+)?(base64\s+)?-d|uudecode|rev\b|tr\s+['"]?(A-Za-z|a-zA-Z|N-ZA-Mn-za-m|n-za-mN-ZA-M))[^\n]*>\s*\S+\.(py|pth|ini|cfg|toml)\b`)
)

// hiddenRunnerNames returns the runner names text spells in hiding, with
// how it hid them (empty when none). Plain spellings are the other rules'
// job; this one decodes what a grep cannot read.
func hiddenRunnerNames(text string) (name, how string) {
	if n, h := decodedNames(text, 2); n != "" {
		return n, h
	}
	if m := reExecDecoded.FindStringSubmatch(text); m != nil {
		// Whatever the payload decodes to, running decoded text is the
		// trick.
		return "exec", "code decoded with " + m[1] + " and executed"
	}
	return "", ""
}

// decodedNames looks for runner names in the string literals of text:
// each literal (escapes undone), runs of consecutive literals on one line
// joined, each reversed and rot13'd, literals that decode as base64 or hex
// (and zlib inside them, recursing depth times), and character-code lists.
func decodedNames(text string, depth int) (string, string) {
	for _, line := range strings.Split(text, "\n") {
		var lits []string
		escaped := map[int]bool{}
		for _, m := range reStrLit.FindAllStringSubmatch(line, -1) {
			raw := m[1][1 : len(m[1])-1]
			escaped[len(lits)] = strings.Contains(raw, `\`)
			lits = append(lits, unescape(raw))
		}
		indirect := reIndirect.MatchString(line)
		for i := range lits {
			joined := ""
			for j := i; j < len(lits) && j < i+8; j++ {
				joined += lits[j]
				how := "a string literal naming it"
				if j > i {
					how = "string pieces joined"
				}
				for k, c := range []struct{ s, how string }{{joined, how}, {reverse(joined), how + ", reversed"}, {rot13(joined), how + ", rot13"}} {
					// A whole literal spelling the name plainly is only
					// hiding when it feeds a string-to-object call.
					if k == 0 && j == i && !indirect && !escaped[i] {
						continue
					}
					if reNameLike.MatchString(c.s) {
						if m := reRunnerName.FindStringSubmatch(c.s); m != nil {
							return m[1], c.how
						}
					}
				}
			}
			if depth > 0 {
				for _, dec := range decodings(lits[i]) {
					if m := reRunnerName.FindStringSubmatch(dec.s); m != nil {
						return m[1], dec.how
					}
					if n, h := decodedNames(dec.s, depth-1); n != "" {
						return n, dec.how + ", then " + h
					}
				}
			}
		}
	}
	for _, m := range reCodes.FindAllStringSubmatch(text, -1) {
		var b strings.Builder
		for _, f := range strings.Split(m[1], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n > 127 {
				b.Reset()
				break
			}
			b.WriteByte(byte(n))
		}
		if m := reRunnerName.FindStringSubmatch(b.String()); m != nil {
			return m[1], "character codes"
		}
	}
	return "", ""
}

type decoded struct{ s, how string }

var (
	reB64 = regexp.MustCompile(`^[A-Za-z0-9+/_-]{12,}={0,2}$`)
	reHex = regexp.MustCompile(`^(?:[0-9a-fA-F]{2}){6,}$`)
)

// decodings are the readings of a literal as an encoded payload.
func decodings(lit string) []decoded {
	s := strings.Join(strings.Fields(lit), "")
	var out []decoded
	add := func(b []byte, how string) {
		out = append(out, decoded{string(b), how})
		if r, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
			if z, err := io.ReadAll(io.LimitReader(r, 1<<20)); err == nil {
				out = append(out, decoded{string(z), how + " + zlib"})
			}
		}
	}
	if reHex.MatchString(s) {
		if b, err := hex.DecodeString(s); err == nil {
			add(b, "hex-encoded")
		}
	}
	if reB64.MatchString(s) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				add(b, "base64-encoded")
				break
			}
		}
	}
	return out
}

// unescape undoes Python's backslash escapes (\x5f, \137, \u005f, \n),
// keeping anything it cannot read as written.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		c := s[i+1]
		switch {
		case c == 'x' && i+4 <= len(s):
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		case (c == 'u' && i+6 <= len(s)) || (c == 'U' && i+10 <= len(s)):
			w := 4
			if c == 'U' {
				w = 8
			}
			if n, err := strconv.ParseUint(s[i+2:i+2+w], 16, 32); err == nil {
				b.WriteRune(rune(n))
				i += 1 + w
				continue
			}
		case c >= '0' && c <= '7':
			j := i + 1
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			if n, err := strconv.ParseUint(s[i+1:j], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i = j - 1
				continue
			}
		case c == 'n':
			b.WriteByte('\n')
			i++
			continue
		case c == '\\' || c == '\'' || c == '"':
			b.WriteByte(c)
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}
