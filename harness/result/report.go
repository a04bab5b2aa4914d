package result

import (
	"encoding/json"
	"slices"
	"sort"
)

// RunReport is the run-level summary. The *_instances and *_ids keys are
// SWE-bench's (swebench.harness.reporting), so tools that read its final
// report read ours; the rest are sweval's own.
type RunReport struct {
	TotalInstances      int `json:"total_instances"`
	SubmittedInstances  int `json:"submitted_instances"`
	CompletedInstances  int `json:"completed_instances"`
	ResolvedInstances   int `json:"resolved_instances"`
	UnresolvedInstances int `json:"unresolved_instances"`
	EmptyPatchInstances int `json:"empty_patch_instances"`
	ErrorInstances      int `json:"error_instances"`

	CompletedIDs  []string `json:"completed_ids"`
	IncompleteIDs []string `json:"incomplete_ids"`
	EmptyPatchIDs []string `json:"empty_patch_ids"`
	SubmittedIDs  []string `json:"submitted_ids"`
	ResolvedIDs   []string `json:"resolved_ids"`
	UnresolvedIDs []string `json:"unresolved_ids"`
	ErrorIDs      []string `json:"error_ids"`
	SchemaVersion int      `json:"schema_version"`

	RunID    string `json:"run_id"`
	Model    string `json:"model_name_or_path,omitempty"`
	Rollouts int    `json:"rollouts"`
	// MeanPassFraction is the mean over rollouts of the pass fraction.
	MeanPassFraction float64 `json:"mean_pass_fraction"`
	StrictRate       float64 `json:"strict_rate"`
	// Instances holds sweval's per-instance details.
	Instances map[string]InstanceSummary `json:"instances"`
	// Stopped says why the run stopped before every rollout was done
	// (e.g. its cost budget); "" when it was not stopped.
	Stopped string `json:"stopped,omitempty"`
	// InfraErrors are the instances with a rollout that ended in an
	// infrastructure failure (model endpoint, daemon) and was left to do,
	// with the error of its last attempt.
	InfraErrors map[string]string `json:"infra_errors,omitempty"`
	// VerdictRules is the rule set the verdicts above follow (the run's
	// --verdicts); ResolvedByRules how many instances each rule set
	// resolves, and VerdictDisagreements the rollouts they read
	// differently, over VerdictDisagreementInstances instances. Empty for
	// runs without rule-decided verdicts (Doc2Repo).
	VerdictRules                 string         `json:"verdict_rules,omitempty"`
	ResolvedByRules              map[string]int `json:"resolved_by_rules,omitempty"`
	VerdictDisagreementInstances int            `json:"verdict_disagreement_instances"`
	VerdictDisagreements         []Disagreement `json:"verdict_disagreements"`
	// Images is what the run pulled, kept and removed to save disk
	// (--cache-level, --max-image-disk); nil when it could not tell.
	Images *ImageUsage `json:"images,omitempty"`
}

// ImageUsage is a run's image disk use: images of its tasks sweval
// pulled, kept (built or pulled by sweval, still present) and removed.
// Sizes are as `docker images` shows them (shared layers count in each).
type ImageUsage struct {
	CacheLevel        string   `json:"cache_level"`
	MaxImageDiskBytes int64    `json:"max_image_disk_bytes,omitempty"`
	Pulled            int      `json:"pulled"`
	PulledBytes       int64    `json:"pulled_bytes"`
	Kept              int      `json:"kept"`
	KeptBytes         int64    `json:"kept_bytes"`
	Removed           []string `json:"removed"`
	RemovedBytes      int64    `json:"removed_bytes"`
	Errors            []string `json:"errors,omitempty"`
}

// Disagreement is a rollout whose verdict differs between rule sets.
type Disagreement struct {
	InstanceID string                `json:"instance_id"`
	Rollout    int                   `json:"rollout"`
	Verdicts   map[string]Resolution `json:"verdicts"`
	Why        string                `json:"why"`
}

// MarshalJSON writes every id list as [] when it is empty, never null, as
// SWE-bench does: tools that read its reports iterate over them.
func (r RunReport) MarshalJSON() ([]byte, error) {
	type plain RunReport // no methods: no recursion
	p := plain(r)
	for _, ids := range []*[]string{&p.CompletedIDs, &p.IncompleteIDs, &p.EmptyPatchIDs, &p.SubmittedIDs, &p.ResolvedIDs, &p.UnresolvedIDs, &p.ErrorIDs} {
		if *ids == nil {
			*ids = []string{}
		}
	}
	if p.Instances == nil {
		p.Instances = map[string]InstanceSummary{}
	}
	if p.VerdictDisagreements == nil {
		p.VerdictDisagreements = []Disagreement{}
	}
	return json.Marshal(p)
}

// InstanceSummary is sweval's per-instance line of the run report.
type InstanceSummary struct {
	Rollouts     int       `json:"rollouts"`
	Resolved     int       `json:"resolved"`
	PassFraction float64   `json:"mean_pass_fraction"`
	WallSeconds  []float64 `json:"wall_seconds"`
	PatchApplied []string  `json:"patch_apply_method,omitempty"`
	Errors       []string  `json:"error_reasons,omitempty"`
	AuditFlags   []string  `json:"audit_flags,omitempty"`
}

// Summarize builds the run report of results against the instance ids the
// run was asked to do. With several rollouts, an instance counts as
// resolved when any rollout resolved it (SWE-bench has one rollout; the
// per-instance counts keep the detail), as empty / error only when every
// rollout was.
func Summarize(runID string, want []string, results []Result) RunReport {
	rep := RunReport{
		RunID:         runID,
		SchemaVersion: 2,
		Instances:     map[string]InstanceSummary{},
	}
	byID := map[string][]Result{}
	for _, r := range results {
		byID[r.InstanceID] = append(byID[r.InstanceID], r)
	}
	rep.TotalInstances = len(want)
	summarizeRules(&rep, want, byID)
	var fracSum float64
	var strict int
	for _, id := range want {
		rs := byID[id]
		if len(rs) == 0 {
			rep.IncompleteIDs = append(rep.IncompleteIDs, id)
			continue
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Rollout < rs[j].Rollout })
		var s InstanceSummary
		counts := map[Status]int{}
		for _, r := range rs {
			if rep.Model == "" {
				rep.Model = r.Model
			}
			s.Rollouts++
			rep.Rollouts++
			counts[r.Status]++
			if r.Resolved {
				s.Resolved++
			}
			if r.Strict {
				strict++
			}
			s.PassFraction += r.PassFraction
			fracSum += r.PassFraction
			s.WallSeconds = append(s.WallSeconds, r.WallSeconds)
			if r.PatchApplied != "" {
				s.PatchApplied = append(s.PatchApplied, r.PatchApplied)
			}
			if r.Error != "" {
				s.Errors = append(s.Errors, r.Error)
			}
			s.AuditFlags = append(s.AuditFlags, r.AuditFlags...)
		}
		s.PassFraction /= float64(s.Rollouts)
		rep.Instances[id] = s
		switch {
		case counts[StatusError] == len(rs):
			rep.ErrorIDs = append(rep.ErrorIDs, id)
			continue
		case counts[StatusEmptyPatch] == len(rs):
			rep.SubmittedIDs = append(rep.SubmittedIDs, id)
			rep.EmptyPatchIDs = append(rep.EmptyPatchIDs, id)
			continue
		}
		rep.SubmittedIDs = append(rep.SubmittedIDs, id)
		rep.CompletedIDs = append(rep.CompletedIDs, id)
		if s.Resolved > 0 {
			rep.ResolvedIDs = append(rep.ResolvedIDs, id)
		} else {
			rep.UnresolvedIDs = append(rep.UnresolvedIDs, id)
		}
	}
	if rep.Rollouts > 0 {
		rep.MeanPassFraction = fracSum / float64(rep.Rollouts)
		rep.StrictRate = float64(strict) / float64(rep.Rollouts)
	}
	rep.SubmittedInstances = len(rep.SubmittedIDs)
	rep.CompletedInstances = len(rep.CompletedIDs)
	rep.ResolvedInstances = len(rep.ResolvedIDs)
	rep.UnresolvedInstances = len(rep.UnresolvedIDs)
	rep.EmptyPatchInstances = len(rep.EmptyPatchIDs)
	rep.ErrorInstances = len(rep.ErrorIDs)
	for _, ids := range [][]string{rep.CompletedIDs, rep.IncompleteIDs, rep.EmptyPatchIDs, rep.SubmittedIDs, rep.ResolvedIDs, rep.UnresolvedIDs, rep.ErrorIDs} {
		sort.Strings(ids)
	}
	return rep
}

// InstanceReport is SWE-bench's per-instance report.json entry, plus
// sweval's fields.
type InstanceReport struct {
	PatchIsNone              bool         `json:"patch_is_None"`
	PatchExists              bool         `json:"patch_exists"`
	PatchSuccessfullyApplied bool         `json:"patch_successfully_applied"`
	Resolved                 bool         `json:"resolved"`
	TestsStatus              *TestsStatus `json:"tests_status,omitempty"`
	Result                   Result       `json:"sweval"`
}

// NewInstanceReport wraps r in SWE-bench's report.json shape:
// {instance_id: {...}}.
func NewInstanceReport(r Result) map[string]InstanceReport {
	return map[string]InstanceReport{r.InstanceID: {
		PatchIsNone:              r.Status == StatusEmptyPatch,
		PatchExists:              r.Status != StatusEmptyPatch,
		PatchSuccessfullyApplied: r.PatchApplied != "" && r.Status != StatusError,
		Resolved:                 r.Resolved,
		TestsStatus:              r.TestsStatus,
		Result:                   r,
	}}
}

// summarizeRules fills the report's rule-set fields: which set decided
// (the first result that names one), how many instances each set
// resolves (any rollout, as ResolvedIDs counts; a rollout no set read,
// with nothing declared, counts under every set), and the rollouts the
// sets read differently.
func summarizeRules(rep *RunReport, want []string, byID map[string][]Result) {
	var sets []string
	for _, id := range want {
		for _, r := range byID[id] {
			if rep.VerdictRules == "" {
				rep.VerdictRules = r.VerdictRules
			}
			for rules := range r.Verdicts {
				if !slices.Contains(sets, rules) {
					sets = append(sets, rules)
				}
			}
		}
	}
	if len(sets) == 0 {
		return
	}
	rep.ResolvedByRules = map[string]int{}
	for _, rules := range sets {
		rep.ResolvedByRules[rules] = 0
	}
	disagreeing := map[string]bool{}
	for _, id := range want {
		for _, rules := range sets {
			if slices.ContainsFunc(byID[id], func(r Result) bool { return resolvedUnder(r, rules) }) {
				rep.ResolvedByRules[rules]++
			}
		}
		for _, r := range byID[id] {
			if r.VerdictDisagreement != "" {
				disagreeing[id] = true
				rep.VerdictDisagreements = append(rep.VerdictDisagreements, Disagreement{
					InstanceID: r.InstanceID, Rollout: r.Rollout, Verdicts: r.Verdicts, Why: r.VerdictDisagreement,
				})
			}
		}
	}
	rep.VerdictDisagreementInstances = len(disagreeing)
	sort.Slice(rep.VerdictDisagreements, func(i, j int) bool {
		a, b := rep.VerdictDisagreements[i], rep.VerdictDisagreements[j]
		if a.InstanceID != b.InstanceID {
			return a.InstanceID < b.InstanceID
		}
		return a.Rollout < b.Rollout
	})
}

// resolvedUnder reports whether rollout r resolves its instance under
// rules: that set's reading, or its own verdict when no set read it.
func resolvedUnder(r Result, rules string) bool {
	if r.Status == StatusError {
		return false
	}
	if res, ok := r.Verdicts[rules]; ok {
		return res == ResolvedFull
	}
	return r.Resolved
}
