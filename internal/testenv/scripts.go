package testenv

import (
	"path/filepath"
	"runtime"
)

// projectScript is the path of scripts/<name> in this checkout, wherever
// the test runs from.
func projectScript(name string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "scripts", name)
}
