package replay

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultKind names an injectable failure.
type FaultKind string

const (
	// FaultRateLimit answers 429 with a Retry-After header.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultServerError answers 500.
	FaultServerError FaultKind = "server_error"
	// FaultSlow waits DelayMS, then serves the reply normally.
	FaultSlow FaultKind = "slow"
	// FaultMalformed answers 200 with a truncated JSON body.
	FaultMalformed FaultKind = "malformed"
	// FaultContextLength answers 400 with OpenAI's context_length_exceeded error.
	FaultContextLength FaultKind = "context_length"
)

// Fault is a failure served instead of (or, for slow, before) a reply.
//
// On a script entry it fires Times times (default 1) for each
// (instance, rollout, reply index) before the reply is served, so a client
// that retries gets through; Always makes it fire on every request.
// Globally it fires on every Every-th chat request of each conversation
// (instance, rollout), so what one rollout sees does not depend on how the
// others interleave (default 1 = every request; use Every ≥ 2 so retries
// succeed).
type Fault struct {
	Kind FaultKind `json:"kind"`
	// Times is how often an entry's fault fires before the reply (default 1).
	Times  int  `json:"times,omitempty"`
	Always bool `json:"always,omitempty"`
	// Every is the period of a global fault.
	Every int `json:"every,omitempty"`
	// RetryAfter is the Retry-After value in seconds for rate_limit (default 1).
	RetryAfter float64 `json:"retry_after,omitempty"`
	// DelayMS is how long slow waits.
	DelayMS int `json:"delay_ms,omitempty"`
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultRateLimit, FaultServerError, FaultSlow, FaultMalformed, FaultContextLength:
	default:
		return fmt.Errorf("field \"kind\": unknown fault %q (want rate_limit, server_error, slow, malformed or context_length)", f.Kind)
	}
	if f.Times < 0 || f.Every < 0 || f.RetryAfter < 0 || f.DelayMS < 0 {
		return fmt.Errorf("fault %s: times, every, retry_after and delay_ms must not be negative", f.Kind)
	}
	if f.Kind == FaultSlow && f.DelayMS == 0 {
		return fmt.Errorf("fault slow: field \"delay_ms\" must be > 0")
	}
	return nil
}

func (f Fault) times() int {
	if f.Times == 0 {
		return 1
	}
	return f.Times
}

func (f Fault) every() int {
	if f.Every == 0 {
		return 1
	}
	return f.Every
}

func (f Fault) retryAfter() string {
	ra := f.RetryAfter
	if ra == 0 {
		ra = 1
	}
	return strconv.FormatFloat(ra, 'f', -1, 64)
}

func (f Fault) delay() time.Duration { return time.Duration(f.DelayMS) * time.Millisecond }

// ParseFault reads the command-line form of a global fault:
// KIND[:key=value...], pairs separated by ':' or ',', e.g.
// "rate_limit:every=3:retry_after=0.1", "server_error:every=4",
// "slow:delay_ms=200", "malformed:every=5". (':' survives CLI libraries
// that split repeated flags on commas.)
func ParseFault(s string) (Fault, error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(s), ":")
	f := Fault{Kind: FaultKind(kind)}
	if rest != "" {
		for _, kv := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ':' }) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return f, fmt.Errorf("fault %q: %q is not key=value", s, kv)
			}
			var err error
			switch k {
			case "every":
				f.Every, err = strconv.Atoi(v)
			case "times":
				f.Times, err = strconv.Atoi(v)
			case "delay_ms":
				f.DelayMS, err = strconv.Atoi(v)
			case "retry_after":
				f.RetryAfter, err = strconv.ParseFloat(v, 64)
			default:
				return f, fmt.Errorf("fault %q: unknown key %q (want every, times, delay_ms, retry_after)", s, k)
			}
			if err != nil {
				return f, fmt.Errorf("fault %q: %s: %w", s, k, err)
			}
		}
	}
	if err := f.validate(); err != nil {
		return f, fmt.Errorf("fault %q: %w", s, err)
	}
	return f, nil
}
