package trajectory

import "encoding/json"

// Message is one chat message in OpenAI's wire shape.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant, tool
	Content    string     `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is an assistant's request to call a function.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall names a function and its JSON-encoded arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a function schema offered to the model, OpenAI's shape.
type Tool struct {
	Type     string      `json:"type"` // "function"
	Function FunctionDef `json:"function"`
}

// FunctionDef is a function's name, description and JSON-schema parameters.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ExitModelError is the exit status of a rollout whose model endpoint
// failed after the client's retries (scaffolds/agent/loop ends with it;
// harness/run treats it as an infrastructure failure).
const ExitModelError = "model_error"

// Trajectory is one rollout of one instance.
type Trajectory struct {
	InstanceID string `json:"instance_id"`
	Rollout    int    `json:"rollout"`
	Model      string `json:"model"`
	Scaffold   string `json:"scaffold"`
	// Tools are the tools offered on every model call of this rollout.
	Tools []Tool `json:"tools,omitempty"`
	Steps []Step `json:"steps"`
	// ExitStatus is why the loop ended: submitted, step_limit, token_limit,
	// cost_limit, time_limit, context_exceeded, format_errors, timeouts,
	// stuck, model_error.
	ExitStatus string `json:"exit_status"`
	// ModelError is the last error of the model endpoint when ExitStatus is
	// model_error (after the client's retries): an infrastructure failure,
	// not the model's.
	ModelError string `json:"model_error,omitempty"`
	// Final is the full conversation at the end (last request + reply).
	Final []Message `json:"final_messages,omitempty"`
	// Patch is the diff the harness extracted.
	Patch string `json:"patch,omitempty"`

	PromptTokens     int      `json:"prompt_tokens"`
	CompletionTokens int      `json:"completion_tokens"`
	Cost             *float64 `json:"cost,omitempty"`
	WallSeconds      float64  `json:"wall_seconds"`
	FormatErrors     int      `json:"format_errors,omitempty"`
	GuardRefusals    int      `json:"guard_refusals,omitempty"`
	Timeouts         int      `json:"timeouts,omitempty"`
}

// Step is one model call and the actions run from its reply.
type Step struct {
	// Messages are exactly the messages sent on this call.
	Messages []Message `json:"messages"`
	// Response is the assistant message the model returned.
	Response Message  `json:"response"`
	Actions  []Action `json:"actions,omitempty"`

	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	LatencySeconds   float64 `json:"latency_seconds"`
	// FormatError is set when the reply could not be parsed into an action
	// (SWE-agent style); curation masks such steps.
	FormatError string `json:"format_error,omitempty"`
}

// Action is one tool call and what it produced.
type Action struct {
	Tool        string `json:"tool"`
	Arguments   string `json:"arguments"`         // JSON for function calls, raw text otherwise
	Command     string `json:"command,omitempty"` // the shell text, for execute_bash
	Observation string `json:"observation"`
	ExitCode    *int   `json:"exit_code,omitempty"`
	TimedOut    bool   `json:"timed_out,omitempty"`
	// Refused holds the guard's refusal message when the command was blocked.
	Refused string  `json:"refused,omitempty"`
	Seconds float64 `json:"seconds"`
}
