package grade

import (
	"strings"
	"testing"
)

func TestNotFoundHint(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		output   string
		wantProg string
		wantIn   []string // substrings of the hint
	}{
		{"bash", 127, "collecting...\nbash: line 1: python: command not found\n", "python", []string{`program "python" was not found`, "python-is-python3", "python3"}},
		{"bash script line", 127, "/tmp/eval.sh: line 7: tox: command not found", "tox", []string{`"tox"`, "install it"}},
		{"dash", 127, "sh: 1: pytest: not found\n", "pytest", []string{`"pytest"`}},
		{"env shebang", 127, "/usr/bin/env: 'python': No such file or directory\n", "python", []string{"python-is-python3"}},
		{"env shebang curly quotes", 127, "/usr/bin/env: ‘python’: No such file or directory\n", "python", []string{`"python"`}},
		{"missing path", 127, "bash: line 1: ./bin/test: No such file or directory\n", "./bin/test", []string{`"./bin/test"`}},
		{"pip", 127, "bash: pip: command not found\n", "pip", []string{"python3 -m pip"}},
		{"earliest wins", 127, "sh: 1: first: not found\nbash: second: command not found\n", "first", []string{`"first"`}},
		{"127 without a name", 127, "something odd\n", "", []string{"exit code 127", "install it"}},
		{"other exit code", 1, "bash: python: command not found\n", "", nil},
		{"success", 0, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := missingProgram(tt.code, tt.output); got != tt.wantProg {
				t.Errorf("missingProgram = %q, want %q", got, tt.wantProg)
			}
			hint := notFoundHint(tt.code, tt.output)
			if tt.wantIn == nil {
				if hint != "" {
					t.Errorf("hint = %q, want none", hint)
				}
				return
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(hint, w) {
					t.Errorf("hint %q lacks %q", hint, w)
				}
			}
		})
	}
}
