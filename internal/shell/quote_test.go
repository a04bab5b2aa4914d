package shell

import (
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"tests/test_x.py", "tests/test_x.py"},
		{"auth_tests.test_validators", "auth_tests.test_validators"},
		{"t.py::test[a b]", "'t.py::test[a b]'"},
		{"it's", `'it'\''s'`},
		{"$(rm -rf /)", "'$(rm -rf /)'"},
		{"`id`", "'`id`'"},
		{"a\nb", "'a\nb'"},
		{"*.py", "'*.py'"},
		{"~root", "'~root'"},
		{"x;y", "'x;y'"},
		{"--junitxml=/tmp/a.xml", "--junitxml=/tmp/a.xml"},
	}
	for _, tc := range tests {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := QuoteAll([]string{"a b", "c"}); got != "'a b' c" {
		t.Errorf("QuoteAll = %s", got)
	}
}

// roundTrip runs `printf %s <Quote(s)>` in the host's bash: our own test
// data, never task data.
func roundTrip(t testing.TB, s string) string {
	t.Helper()
	out, err := exec.Command("bash", "-c", "printf %s "+Quote(s)).Output()
	if err != nil {
		t.Fatalf("bash on %q (quoted %s): %v", s, Quote(s), err)
	}
	return string(out)
}

func TestQuoteRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash on the host")
	}
	for _, s := range quoteSeeds {
		if got := roundTrip(t, s); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

var quoteSeeds = []string{
	"", "plain", "with space", "it's", `"dq"`, "$HOME", "${x:-y}", "$(id)", "`id`",
	"a\nb", "tab\there", "back\\slash", "!hist", "glob*?[a]", "~", "-n", "--", "%s%d",
	"t.py::test[a b]", "t.py::test[it's - \"x\"]", "\xff\xfe invalid utf8", "ünïcödé", "{a,b}", "a=b", ";&|<>()",
}

func FuzzQuote(f *testing.F) {
	if _, err := exec.LookPath("bash"); err != nil {
		f.Skip("no bash on the host")
	}
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) {
			t.Skip("NUL cannot be in a shell word")
		}
		if got := roundTrip(t, s); got != s {
			t.Errorf("round trip of %q (quoted %s) gave %q", s, Quote(s), got)
		}
	})
}
