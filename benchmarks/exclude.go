package benchmarks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Exclusion is one line of an exclusion file (JSONL), as `sweval validate
// --exclusions` writes it: an instance left out of scoring, and why.
type Exclusion struct {
	InstanceID string `json:"instance_id"`
	Reason     string `json:"reason"`
}

// LoadExclusions reads an exclusion file into instance id → reason. A bad
// line is an error naming the file, the line and the field.
func LoadExclusions(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exclusions: %w", err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var e Exclusion
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: not an exclusion object ({\"instance_id\": …, \"reason\": …}): %w", path, n, err)
		}
		if e.InstanceID == "" {
			return nil, fmt.Errorf("%s:%d: field \"instance_id\" is missing or empty", path, n)
		}
		out[e.InstanceID] = e.Reason
	}
	return out, sc.Err()
}

// Exclude drops the excluded tasks, keeping the order of the rest.
func Exclude(tasks []Task, excluded map[string]string) []Task {
	out := tasks[:0:0]
	for _, t := range tasks {
		if _, ok := excluded[t.ID]; !ok {
			out = append(out, t)
		}
	}
	return out
}
