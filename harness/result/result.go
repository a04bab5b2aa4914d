package result

// Status is the outcome class of one rollout, matching SWE-bench's report
// buckets.
type Status string

const (
	StatusResolved   Status = "resolved"
	StatusUnresolved Status = "unresolved"
	StatusEmptyPatch Status = "empty_patch"
	// StatusError is an infrastructure error (image build, test patch
	// reject, container failure): not the model's fault, not a score.
	StatusError Status = "error"
)

// Resolution is SWE-bench's FULL / PARTIAL / NO.
type Resolution string

const (
	ResolvedFull    Resolution = "RESOLVED_FULL"
	ResolvedPartial Resolution = "RESOLVED_PARTIAL"
	ResolvedNo      Resolution = "RESOLVED_NO"
)

// Sandbox events (Result.SandboxEvent).
const (
	// SandboxKilled: the agent stopped its sandbox (e.g. kill -9 -1).
	SandboxKilled = "agent_killed_sandbox"
	// SandboxDiskLimit: the agent wrote past the sandbox's disk budget and
	// the sandbox was stopped; the rollout scores 0, ungraded.
	SandboxDiskLimit = "disk_limit"
	// SandboxPidsExhausted: the sandbox ran but could not start a process
	// (a fork bomb left at the pids limit).
	SandboxPidsExhausted = "pids_exhausted"
)

// Result is one finished rollout; one line of results.jsonl.
type Result struct {
	RunID      string `json:"run_id"`
	InstanceID string `json:"instance_id"`
	Rollout    int    `json:"rollout"`
	Model      string `json:"model_name_or_path"`
	Scaffold   string `json:"scaffold,omitempty"`
	Benchmark  string `json:"benchmark,omitempty"`

	Status     Status     `json:"status"`
	Resolved   bool       `json:"resolved"`
	Resolution Resolution `json:"resolution,omitempty"`
	// PassFraction is passed / declared tests (Doc2Repo), or 1/0 for
	// resolved/unresolved SWE-style tasks.
	PassFraction float64 `json:"pass_fraction"`
	// Strict is true when every declared test passed.
	Strict   bool `json:"strict"`
	Passed   int  `json:"tests_passed"`
	Declared int  `json:"tests_declared"`

	// TestsStatus is SWE-bench's FAIL_TO_PASS / PASS_TO_PASS success and
	// failure lists.
	TestsStatus *TestsStatus `json:"tests_status,omitempty"`
	// VerdictRules is the rule set that decided Status: "strict" (sweval's
	// hardened rules) or "swebench" (SWE-bench's own), the run's
	// --verdicts. Verdicts is each rule set's resolution of the same test
	// run and VerdictDisagreement why they differ. Unset where no rule
	// decided: nothing declared, a timeout, an error, Doc2Repo.
	VerdictRules        string                `json:"verdict_rules,omitempty"`
	Verdicts            map[string]Resolution `json:"verdicts,omitempty"`
	VerdictDisagreement string                `json:"verdict_disagreement,omitempty"`

	// Image is the image the rollout was graded in and ImageDigest its
	// content (registry digest name@sha256:…, else the image ID).
	Image       string `json:"image,omitempty"`
	ImageDigest string `json:"image_digest,omitempty"`

	PatchApplied string `json:"patch_apply_method,omitempty"`
	PatchIsEmpty bool   `json:"patch_is_empty,omitempty"`
	TestExitCode *int   `json:"test_exit_code,omitempty"`
	Error        string `json:"error,omitempty"`
	AgentExit    string `json:"agent_exit_status,omitempty"` // submitted, step_limit, context_exceeded, ...
	// SandboxEvent says what the agent did to its sandbox when the harness
	// had to revive it to capture the work: SandboxKilled or
	// SandboxPidsExhausted ("" when the sandbox was healthy).
	SandboxEvent  string   `json:"sandbox_event,omitempty"`
	AuditFlags    []string `json:"audit_flags,omitempty"`
	GuardRefusals int      `json:"guard_refusals,omitempty"`
	// InfraRetries is how many attempts of this rollout ended in an
	// infrastructure failure before this one (--retry-infra); each is kept
	// under the rollout's attempts/.
	InfraRetries int `json:"infra_retries,omitempty"`

	PromptTokens     int      `json:"prompt_tokens,omitempty"`
	CompletionTokens int      `json:"completion_tokens,omitempty"`
	Cost             *float64 `json:"cost,omitempty"` // nil = unknown price
	Steps            int      `json:"steps,omitempty"`
	WallSeconds      float64  `json:"wall_seconds"`

	// Features are the task's numeric features, copied for difficulty fits.
	Features map[string]float64 `json:"features,omitempty"`
}

// TestsStatus mirrors SWE-bench's per-instance report.json tests_status.
type TestsStatus struct {
	FailToPass SuccessFailure `json:"FAIL_TO_PASS"`
	PassToPass SuccessFailure `json:"PASS_TO_PASS"`
}

// SuccessFailure lists test ids by outcome.
type SuccessFailure struct {
	Success []string `json:"success"`
	Failure []string `json:"failure"`
}

// Key is the resume key of a rollout.
func (r Result) Key() Key { return Key{InstanceID: r.InstanceID, Rollout: r.Rollout} }

// Key identifies one rollout of one instance within a run.
type Key struct {
	InstanceID string
	Rollout    int
}
