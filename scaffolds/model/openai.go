package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Header names the client sends with every call so a server can tell
// concurrent rollouts apart (the replay server keys its scripts on them).
const (
	HeaderInstance = "X-Sweval-Instance"
	HeaderRollout  = "X-Sweval-Rollout"
)

// DefaultAPIKeyEnv is read for the API key when Config names no variable.
const DefaultAPIKeyEnv = "OPENAI_API_KEY"

// Price is what a model costs, in currency units per million tokens.
type Price struct {
	InputPerMillion  float64 `json:"input_per_million"`
	OutputPerMillion float64 `json:"output_per_million"`
}

// Config configures the OpenAI-compatible client. Zero values take the
// defaults documented on each field.
type Config struct {
	// BaseURL must include the /v1 suffix, e.g. http://127.0.0.1:8000/v1.
	BaseURL string
	// Model is the model name sent on every call.
	Model string
	// APIKeyEnv names the environment variable holding the key (default
	// OPENAI_API_KEY). A variable named explicitly must be set; the default
	// one may be unset (local vLLM/SGLang servers need no key).
	APIKeyEnv string
	// LookupEnv reads the environment (default os.LookupEnv); tests inject.
	LookupEnv func(string) (string, bool)

	// Sampling; nil leaves the server's default.
	Temperature *float64
	TopP        *float64
	MaxTokens   int
	Seed        *int
	// Headers are sent on every request (e.g. a gateway's routing header).
	Headers map[string]string

	// Timeout bounds one HTTP attempt (default 10 minutes); go-openai's
	// default client has none and would hang on a stuck server forever.
	Timeout time.Duration
	// MaxRetries is how many times a retryable failure is retried
	// (default 6; negative means none).
	MaxRetries int
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter (defaults 1s and 60s). A server's Retry-After wins when longer.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Pacer, when set, is the run's shared budget of calls (rate,
	// concurrency, Retry-After for everyone); give every client of one
	// endpoint the same Pacer.
	Pacer *Pacer
	// Sleep waits between attempts (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1) (default math/rand/v2).
	Jitter func() float64

	// Prices maps model name → price. PriceIn/PriceOut, when both set,
	// override it (the --price-in/--price-out flags). Unknown → Cost nil.
	Prices   map[string]Price
	PriceIn  *float64
	PriceOut *float64

	// Transport is the HTTP round tripper (default http.DefaultTransport).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// OpenAI is a Model backed by any OpenAI-compatible chat-completions
// endpoint through go-openai. It is safe for concurrent use.
type OpenAI struct {
	cfg    Config
	client *openai.Client
	price  *Price
	log    *slog.Logger
}

// NewOpenAI validates cfg and builds the client.
func NewOpenAI(cfg Config) (*OpenAI, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("model: base URL is empty: pass the server's URL including /v1, e.g. http://127.0.0.1:8000/v1")
	}
	if !strings.HasSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1") {
		return nil, fmt.Errorf("model: base URL %q must end in /v1 (go-openai appends /chat/completions to it)", cfg.BaseURL)
	}
	if cfg.Model == "" {
		return nil, errors.New("model: model name is empty: pass the name the server serves (see GET /v1/models)")
	}
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	key := ""
	if cfg.APIKeyEnv != "" {
		v, ok := cfg.LookupEnv(cfg.APIKeyEnv)
		if !ok {
			return nil, fmt.Errorf("model: API key variable %s is not set: export it or name another variable", cfg.APIKeyEnv)
		}
		key = v
	} else if v, ok := cfg.LookupEnv(DefaultAPIKeyEnv); ok {
		key = v
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 6
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = time.Minute
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if (cfg.PriceIn == nil) != (cfg.PriceOut == nil) {
		return nil, errors.New("model: give both --price-in and --price-out, or neither")
	}
	oc := openai.DefaultConfig(key)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	oc.HTTPClient = &http.Client{
		Timeout:   cfg.Timeout,
		Transport: &headerTransport{base: cfg.Transport, headers: cfg.Headers},
	}
	m := &OpenAI{cfg: cfg, client: openai.NewClientWithConfig(oc), log: cfg.Logger}
	switch {
	case cfg.PriceIn != nil:
		m.price = &Price{InputPerMillion: *cfg.PriceIn, OutputPerMillion: *cfg.PriceOut}
	default:
		if p, ok := cfg.Prices[cfg.Model]; ok {
			m.price = &p
		}
	}
	return m, nil
}

// Complete sends one chat completion, retrying transient failures. A
// context-length refusal returns an error wrapping ErrContextExceeded.
func (m *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	oreq := m.request(req)
	state := &callState{instance: req.InstanceID, rollout: req.Rollout}
	ctx = context.WithValue(ctx, callStateKey{}, state)
	var lastErr error
	for attempt := 0; ; attempt++ {
		state.setRetryAfter(0)
		release, err := m.cfg.Pacer.acquire(ctx)
		if err != nil {
			return Response{}, err
		}
		resp, err := m.client.CreateChatCompletion(ctx, oreq)
		release()
		m.cfg.Pacer.pause(state.getRetryAfter())
		if err == nil && len(resp.Choices) == 0 {
			err = &malformedError{msg: "response has no choices"}
		}
		if err == nil {
			return m.response(resp), nil
		}
		if ctx.Err() != nil {
			return Response{}, fmt.Errorf("model: call cancelled: %w", ctx.Err())
		}
		class := classify(err)
		if class == classContext {
			return Response{}, fmt.Errorf("%w: %v", ErrContextExceeded, err)
		}
		lastErr = err
		if class == classFatal || attempt >= m.cfg.MaxRetries {
			break
		}
		d := m.backoff(attempt, state.getRetryAfter())
		m.log.Warn("model call failed, retrying", "model", m.cfg.Model, "attempt", attempt+1,
			"max_retries", m.cfg.MaxRetries, "wait", d, "err", err)
		if err := m.cfg.Sleep(ctx, d); err != nil {
			return Response{}, fmt.Errorf("model: call cancelled while backing off: %w", err)
		}
	}
	return Response{}, fmt.Errorf("model %s at %s: %w", m.cfg.Model, m.cfg.BaseURL, describe(lastErr))
}

// backoff is full-jitter exponential backoff, never shorter than a
// server's Retry-After (capped at BackoffMax).
func (m *OpenAI) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceil := float64(m.cfg.BackoffBase) * math.Pow(2, float64(attempt))
	if ceil > float64(m.cfg.BackoffMax) {
		ceil = float64(m.cfg.BackoffMax)
	}
	// Half fixed, half jitter: never a zero wait, still spreads workers.
	d := time.Duration(ceil/2 + m.cfg.Jitter()*ceil/2)
	if retryAfter > d {
		d = min(retryAfter, m.cfg.BackoffMax)
	}
	return d
}

func (m *OpenAI) request(req Request) openai.ChatCompletionRequest {
	o := openai.ChatCompletionRequest{
		Model:     m.cfg.Model,
		Messages:  toOpenAIMessages(req.Messages),
		Tools:     toOpenAITools(req.Tools),
		MaxTokens: m.cfg.MaxTokens,
		Seed:      m.cfg.Seed,
	}
	if t := m.cfg.Temperature; t != nil {
		o.Temperature = float32(*t)
		if o.Temperature == 0 {
			// go-openai drops a zero temperature (omitempty); the smallest
			// float32 survives and every server treats it as greedy.
			o.Temperature = math.SmallestNonzeroFloat32
		}
	}
	if p := m.cfg.TopP; p != nil {
		o.TopP = float32(*p)
	}
	return o
}

func (m *OpenAI) response(r openai.ChatCompletionResponse) Response {
	c := r.Choices[0]
	out := Response{
		Message:          fromOpenAIMessage(c.Message),
		FinishReason:     string(c.FinishReason),
		PromptTokens:     r.Usage.PromptTokens,
		CompletionTokens: r.Usage.CompletionTokens,
	}
	out.Cost = m.cost(out.PromptTokens, out.CompletionTokens)
	return out
}

func (m *OpenAI) cost(in, out int) *float64 {
	if m.price == nil {
		return nil
	}
	c := float64(in)*m.price.InputPerMillion/1e6 + float64(out)*m.price.OutputPerMillion/1e6
	return &c
}

// Name is the model name sent on every call.
func (m *OpenAI) Name() string { return m.cfg.Model }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// callState carries per-call data between Complete and the transport
// (go-openai exposes neither per-request headers nor response headers on
// errors).
type callState struct {
	instance string
	rollout  int

	mu         sync.Mutex
	retryAfter time.Duration
}

func (s *callState) setRetryAfter(d time.Duration) {
	s.mu.Lock()
	s.retryAfter = d
	s.mu.Unlock()
}

func (s *callState) getRetryAfter() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retryAfter
}

type callStateKey struct{}

type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	st, _ := r.Context().Value(callStateKey{}).(*callState)
	if st != nil && st.instance != "" {
		r.Header.Set(HeaderInstance, st.instance)
		r.Header.Set(HeaderRollout, strconv.Itoa(st.rollout))
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil && st != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After")); ok {
			st.setRetryAfter(d)
		}
	}
	return resp, err
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}
