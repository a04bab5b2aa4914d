package replay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/sweval/sweval/scaffolds/replay"
)

func TestLoadScriptForms(t *testing.T) {
	s, faults, err := replay.LoadScript("testdata/example-script.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Instances) != 3 || len(s.Instances["demo__calc-1"]) != 3 || len(faults) != 1 || faults[0].Kind != replay.FaultSlow {
		t.Errorf("object form: %d instances, faults %+v", len(s.Instances), faults)
	}
	s, _, err = replay.LoadScript("testdata/example-script.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Instances["demo__calc-1"]); got != 2 {
		t.Errorf("JSONL lines for one instance append: got %d replies, want 2", got)
	}
	if _, ok := s.Instances["*"]; !ok {
		t.Error("fallback entry missing")
	}
}

func TestParseScriptErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty", "  ", "empty script"},
		{"bad line", "{\"instance_id\":\"a\",\"replies\":[]}\n{not json}\n", "s.jsonl:2"},
		{"no id", `{"replies":[]}`, `s.jsonl:1: field "instance_id" is empty`},
		{"unknown field", `{"instance_id":"a","replys":[]}`, `unknown field "replys"`},
		{"tool without name", `{"instance_id":"a","replies":[{"tool_calls":[{"arguments":{}}]}]}`, `[0].tool_calls[0]: field "name" is empty`},
		{"bad fault", `{"instances":{"a":[{"fault":{"kind":"explode"}}]}}`, `instances["a"][0].fault: field "kind": unknown fault "explode"`},
		{"slow without delay", `{"instances":{"a":[]},"faults":[{"kind":"slow"}]}`, `faults[0]: fault slow`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := replay.ParseScript("s.jsonl", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFault(t *testing.T) {
	tests := []struct {
		in   string
		want replay.Fault
		err  bool
	}{
		{"rate_limit:every=3,retry_after=0.5", replay.Fault{Kind: replay.FaultRateLimit, Every: 3, RetryAfter: 0.5}, false},
		{"rate_limit:every=3:retry_after=0.5", replay.Fault{Kind: replay.FaultRateLimit, Every: 3, RetryAfter: 0.5}, false},
		{"server_error", replay.Fault{Kind: replay.FaultServerError}, false},
		{"slow:delay_ms=200", replay.Fault{Kind: replay.FaultSlow, DelayMS: 200}, false},
		{"slow", replay.Fault{}, true},
		{"boom", replay.Fault{}, true},
		{"malformed:every", replay.Fault{}, true},
		{"malformed:often=2", replay.Fault{}, true},
	}
	for _, tt := range tests {
		got, err := replay.ParseFault(tt.in)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("ParseFault(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

// TestInstanceLookup covers the identification rule: header, then the
// longest script key in the first user message, then "*".
func TestInstanceLookup(t *testing.T) {
	srv, err := replay.New(replay.Config{Script: replay.Script{Instances: map[string][]replay.Reply{
		"proj-1":  {{Content: "one"}},
		"proj-12": {{Content: "twelve"}},
		"*":       {{Content: "fallback"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	tests := []struct {
		header, firstUser, want string
	}{
		{"proj-1", "about proj-12", "one"},
		{"", "please fix proj-12 now", "twelve"},
		{"", "please fix proj-1 now", "one"},
		{"unknown", "nothing matches", "fallback"},
	}
	for _, tt := range tests {
		cfg := openai.DefaultConfig("")
		cfg.BaseURL = ts.URL + "/v1"
		cfg.HTTPClient = &http.Client{Transport: headerRT{tt.header}}
		c := openai.NewClientWithConfig(cfg)
		resp, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
			Model:    "x",
			Messages: []openai.ChatCompletionMessage{{Role: "system", Content: "proj-1 is in the system prompt"}, {Role: "user", Content: tt.firstUser}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != tt.want {
			t.Errorf("header %q, user %q: reply %q, want %q", tt.header, tt.firstUser, got, tt.want)
		}
		if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 || resp.Choices[0].FinishReason != "stop" {
			t.Errorf("usage/finish missing: %+v", resp)
		}
	}
}

type headerRT struct{ instance string }

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.instance != "" {
		r = r.Clone(r.Context())
		r.Header.Set(replay.HeaderInstance, h.instance)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestModelsAndUnknownInstance(t *testing.T) {
	srv, err := replay.New(replay.Config{Model: "my-model", Script: replay.Script{Instances: map[string][]replay.Reply{"a": {{Content: "x"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = ts.URL + "/v1"
	c := openai.NewClientWithConfig(cfg)
	models, err := c.ListModels(context.Background())
	if err != nil || len(models.Models) != 1 || models.Models[0].ID != "my-model" {
		t.Errorf("models = %+v, %v", models, err)
	}
	_, err = c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "b"}}})
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || apiErr.Code != "unknown_instance" {
		t.Errorf("unknown instance: %v", err)
	}
	if _, err := replay.New(replay.Config{}); err == nil {
		t.Error("empty script accepted")
	}
}

func TestListenAndServeStopsOnCancel(t *testing.T) {
	srv, err := replay.New(replay.Config{Script: replay.Script{Instances: map[string][]replay.Reply{"a": {{Content: "x"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := replay.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Errorf("default address %s is not loopback", ln.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v after cancel", err)
	}
}

// TestNeutralRepliesRenderPerProtocol: one script, both protocols.
func TestNeutralRepliesRenderPerProtocol(t *testing.T) {
	patch := "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
	s := replay.SolutionScript(map[string]string{"a": patch, "empty": ""}, "", false)
	if len(s.Instances["a"]) != 2 || len(s.Instances["empty"]) != 1 || !s.Instances["empty"][0].Submit {
		t.Fatalf("script = %+v", s)
	}
	srv, err := replay.New(replay.Config{Script: s})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = ts.URL + "/v1"
	cfg.HTTPClient = &http.Client{Transport: headerRT{"a"}}
	c := openai.NewClientWithConfig(cfg)
	tools := []openai.Tool{
		{Type: "function", Function: &openai.FunctionDefinition{Name: "execute_bash"}},
		{Type: "function", Function: &openai.FunctionDefinition{Name: "finish"}},
	}
	user := []openai.ChatCompletionMessage{{Role: "user", Content: "fix"}}
	withTools, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "m", Messages: user, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	tc := withTools.Choices[0].Message.ToolCalls
	if len(tc) != 1 || tc[0].Function.Name != "execute_bash" || !strings.Contains(tc[0].Function.Arguments, `git apply`) || withTools.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("tool-call rendering = %+v", withTools.Choices[0])
	}
	text, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "m", Messages: user})
	if err != nil {
		t.Fatal(err)
	}
	content := text.Choices[0].Message.Content
	if !strings.HasPrefix(content, "DISCUSSION\nApplying the fix.\n\n```bash\ncd /testbed && cat > /tmp/sweval_solution.patch <<'SWEVAL_PATCH_EOF'\n--- a/calc.py") || len(text.Choices[0].Message.ToolCalls) != 0 {
		t.Errorf("text rendering = %q", content)
	}
	second := append(user, openai.ChatCompletionMessage{Role: "assistant", Content: content}, openai.ChatCompletionMessage{Role: "user", Content: "ok"})
	sub, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "m", Messages: second})
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.Choices[0].Message.Content; !strings.HasSuffix(got, "```bash\nsubmit\n```") {
		t.Errorf("submit rendering = %q", got)
	}
	if w := replay.WrongCommand("/testbed", patch); w != `cd /testbed && printf '\n# sweval: deliberately wrong solution\n' >> calc.py` {
		t.Errorf("wrong command = %q", w)
	}
}

func TestLoadMerges(t *testing.T) {
	s, faults, err := replay.Load([]string{"testdata/example-script.json"}, nil)
	if err != nil || len(s.Instances) != 3 || len(faults) != 1 {
		t.Fatalf("Load = %d instances, %d faults, %v", len(s.Instances), len(faults), err)
	}
	if _, _, err := replay.Load([]string{"testdata/example-script.json", "testdata/example-script.jsonl"}, nil); err == nil || !strings.Contains(err.Error(), "already scripted") {
		t.Errorf("duplicate instance: err = %v", err)
	}
	if _, _, err := replay.Load(nil, nil); err == nil {
		t.Error("empty Load accepted")
	}
}

// Two conversations that alternate requests must each see the global fault
// on their own every-other request; a server-wide counter would give one of
// them every failure.
func TestGlobalFaultCountsPerConversation(t *testing.T) {
	srv, err := replay.New(replay.Config{
		Script: replay.Script{Instances: map[string][]replay.Reply{"a": {{Content: "x"}}, "b": {{Content: "y"}}}},
		Faults: []replay.Fault{{Kind: replay.FaultServerError, Every: 2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	call := func(instance string) error {
		cfg := openai.DefaultConfig("")
		cfg.BaseURL = ts.URL + "/v1"
		cfg.HTTPClient = &http.Client{Transport: headerRT{instance}}
		_, err := openai.NewClientWithConfig(cfg).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
			Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "go"}},
		})
		return err
	}
	for round := 1; round <= 4; round++ {
		for _, instance := range []string{"a", "b"} {
			err := call(instance)
			if wantFail := round%2 == 0; (err != nil) != wantFail {
				t.Errorf("instance %s request %d: err = %v, want a failure: %v", instance, round, err, wantFail)
			}
		}
	}
}
