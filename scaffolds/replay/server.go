package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names the client sends (mirrors scaffolds/model; repeated here so
// the server does not depend on the client).
const (
	HeaderInstance = "X-Sweval-Instance"
	HeaderRollout  = "X-Sweval-Rollout"
)

// DefaultModel is the model name served when Config.Model is empty.
const DefaultModel = "sweval-replay"

// Config configures a replay server.
type Config struct {
	// Script holds the replies per instance (LoadScript, LoadTrajectories).
	Script Script
	// Faults are global faults applied to chat requests (see Fault).
	Faults []Fault
	// Model is the name /v1/models lists and replies carry.
	Model string
	// Record keeps every chat request's body for Requests (tests).
	Record bool
	// Sleep waits for slow faults (default: a timer honouring ctx).
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// Server is an OpenAI-compatible chat-completions server that answers from
// a script. It is stateless in the conversation: the reply index is the
// number of assistant messages in the request, so retries and parallel
// rollouts get the right reply. Only fault counters are kept.
type Server struct {
	cfg  Config
	keys []string // script keys, longest first, for substring matching

	mu       sync.Mutex
	fired    map[string]int // entry fault firings per instance|rollout|index
	requests map[string]int // chat requests seen per instance|rollout, for global faults
	recorded []Recorded
}

// Recorded is one chat request the server received.
type Recorded struct {
	Instance string
	Rollout  string
	Body     []byte
}

// New validates cfg and builds a server.
func New(cfg Config) (*Server, error) {
	if len(cfg.Script.Instances) == 0 {
		return nil, errors.New("replay: the script has no instances: give a script file or a recorded trajectory")
	}
	for i, f := range cfg.Faults {
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("replay: global fault %d: %w", i, err)
		}
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, fired: map[string]int{}, requests: map[string]int{}}
	for k := range cfg.Script.Instances {
		if k != "*" {
			s.keys = append(s.keys, k)
		}
	}
	sort.Slice(s.keys, func(i, j int) bool {
		if len(s.keys[i]) != len(s.keys[j]) {
			return len(s.keys[i]) > len(s.keys[j])
		}
		return s.keys[i] < s.keys[j]
	})
	return s, nil
}

// Handler serves /v1/chat/completions and /v1/models.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("GET /models", s.models)
	return mux
}

// Listen opens addr; an empty addr means 127.0.0.1:0 (a free loopback port).
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("replay: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}

// ListenAndServe listens on addr (default 127.0.0.1:0) and serves until
// ctx is cancelled. Use Listen + Serve to learn a free port's address.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("replay server listening", "url", "http://"+ln.Addr().String()+"/v1", "model", s.cfg.Model)
	return s.Serve(ctx, ln)
}

// Requests returns the chat requests received so far (Config.Record).
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.recorded...)
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []any{map[string]any{"id": s.cfg.Model, "object": "model", "created": 0, "owned_by": "sweval"}},
	})
}

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
	Tools    []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

// offers reports whether the request offers a tool named name.
func (r chatRequest) offers(name string) bool {
	for _, t := range r.Tools {
		if t.Function.Name == name {
			return true
		}
	}
	return false
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text reads content as a string or as an array of text parts.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return ""
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "read_error", "reading the request body: "+err.Error())
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "request body is not JSON: "+err.Error())
		return
	}
	if req.Stream {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "stream_unsupported", "the replay server does not stream: send stream=false")
		return
	}
	instance, replies, ok := s.lookup(r.Header.Get(HeaderInstance), req.Messages)
	rollout := r.Header.Get(HeaderRollout)
	s.mu.Lock()
	// Global faults count per conversation, not per server: with a
	// server-wide counter, workers that resume together after a shared
	// Retry-After pause alternate requests, and one of them can land on the
	// failing slot every time however often it retries.
	conv := instance + "\x00" + rollout
	s.requests[conv]++
	n := s.requests[conv]
	if s.cfg.Record {
		s.recorded = append(s.recorded, Recorded{Instance: instance, Rollout: rollout, Body: body})
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "unknown_instance",
			fmt.Sprintf("replay: no script for this conversation (header %s=%q, and no script key occurs in the first user message); add the instance to the script or a \"*\" entry", HeaderInstance, r.Header.Get(HeaderInstance)))
		return
	}
	idx := 0
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			idx++
		}
	}
	// Global faults first: they model a flaky server, whatever the script says.
	for _, f := range s.cfg.Faults {
		if n%f.every() == 0 {
			if s.serveFault(w, r, f) {
				return
			}
			break
		}
	}
	if idx >= len(replies) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "replay_exhausted",
			fmt.Sprintf("replay: the script for %q has %d replies; this request asks for reply %d", instance, len(replies), idx+1))
		return
	}
	reply := replies[idx]
	if f := reply.Fault; f != nil {
		key := instance + "\x00" + rollout + "\x00" + strconv.Itoa(idx)
		s.mu.Lock()
		fire := f.Always || s.fired[key] < f.times()
		if fire {
			s.fired[key]++
		}
		s.mu.Unlock()
		if fire && s.serveFault(w, r, *f) {
			return
		}
	}
	s.serveReply(w, req, instance, idx, reply)
}

// serveFault writes the fault and reports true, or (slow) waits and
// reports false so the reply is served after the delay.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	s.cfg.Logger.Debug("replay: injecting fault", "kind", f.Kind)
	switch f.Kind {
	case FaultRateLimit:
		w.Header().Set("Retry-After", f.retryAfter())
		writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
			"Rate limit reached for requests (injected by the replay server). Please try again in "+f.retryAfter()+"s.")
	case FaultServerError:
		writeError(w, http.StatusInternalServerError, "server_error", "",
			"The server had an error while processing your request (injected by the replay server).")
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":"chatcmpl-replay","object":"chat.completion","choices":[{"index":0,"message":{"role":"assis`)
	case FaultContextLength:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "context_length_exceeded",
			"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.")
	case FaultSlow:
		if err := s.cfg.Sleep(r.Context(), f.delay()); err != nil {
			return true // client gone
		}
		return false
	}
	return true
}

type respToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (s *Server) serveReply(w http.ResponseWriter, req chatRequest, instance string, idx int, r Reply) {
	r = render(req, r)
	msg := map[string]any{"role": "assistant", "content": r.Content}
	var calls []respToolCall
	for j, tc := range r.ToolCalls {
		var c respToolCall
		c.ID = tc.ID
		if c.ID == "" {
			c.ID = fmt.Sprintf("call_%d_%d", idx, j)
		}
		c.Type = "function"
		c.Function.Name = tc.Name
		c.Function.Arguments, _ = argumentsText(tc.Arguments) // validated at load
		calls = append(calls, c)
	}
	if len(calls) > 0 {
		msg["tool_calls"] = calls
		if r.Content == "" {
			msg["content"] = nil // what OpenAI sends
		}
	}
	finish := r.FinishReason
	if finish == "" {
		finish = "stop"
		if len(calls) > 0 {
			finish = "tool_calls"
		}
	}
	usage := r.Usage
	if usage == nil {
		usage = estimateUsage(req, r)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      fmt.Sprintf("chatcmpl-replay-%s-%d", sanitize(instance), idx),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   s.cfg.Model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage": map[string]int{
			"prompt_tokens":     usage.PromptTokens,
			"completion_tokens": usage.CompletionTokens,
			"total_tokens":      usage.PromptTokens + usage.CompletionTokens,
		},
	})
}

// render turns a protocol-neutral reply (Command, Submit) into the shape
// the request's protocol expects.
func render(req chatRequest, r Reply) Reply {
	if r.Command == "" && !r.Submit {
		return r
	}
	if len(req.Tools) > 0 {
		name, args := "execute_bash", map[string]string{"command": r.Command}
		if r.Submit {
			name, args = "finish", map[string]string{"message": "Done."}
		}
		if !req.offers(name) {
			// Not an OpenHands-style tool set: fall back to text.
			return renderText(r)
		}
		b, _ := json.Marshal(args)
		r.ToolCalls = []ToolCall{{Name: name, Arguments: b}}
		return r
	}
	return renderText(r)
}

func renderText(r Reply) Reply {
	cmd, why := r.Command, "Running the next command."
	if r.Submit {
		cmd, why = "submit", "The change is complete."
	}
	if r.Content != "" {
		why = r.Content
	}
	r.Content = "DISCUSSION\n" + why + "\n\n```bash\n" + cmd + "\n```"
	return r
}

// estimateUsage counts about 4 characters per token, deterministically.
func estimateUsage(req chatRequest, r Reply) *Usage {
	in := 0
	for _, m := range req.Messages {
		in += len(m.Content) + 4
	}
	out := len(r.Content)
	for _, tc := range r.ToolCalls {
		out += len(tc.Name) + len(tc.Arguments)
	}
	return &Usage{PromptTokens: max(1, in/4), CompletionTokens: max(1, out/4)}
}

// lookup finds the script for a request: the instance header first, then
// the longest script key occurring in the first user message, then "*".
func (s *Server) lookup(header string, msgs []chatMessage) (string, []Reply, bool) {
	if header != "" {
		if rs, ok := s.cfg.Script.Instances[header]; ok {
			return header, rs, true
		}
	}
	for _, m := range msgs {
		if m.Role != "user" {
			continue
		}
		text := m.text()
		for _, k := range s.keys {
			if strings.Contains(text, k) {
				return k, s.cfg.Script.Instances[k], true
			}
		}
		break
	}
	if rs, ok := s.cfg.Script.Instances["*"]; ok {
		return orStar(header), rs, true
	}
	return header, nil, false
}

func orStar(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes OpenAI's error envelope; an empty code is sent as null.
func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": c,
	}})
}
