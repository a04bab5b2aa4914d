// Package view is the trajectory and run browser behind `sweval view`: a
// net/http handler (assets embedded, nothing fetched from a network) with a
// Runs page (the board's own rows), an Instances page (filtered, sorted and
// paginated server-side from an index built by streaming results.jsonl, so
// 10,000+ rollouts never reach one page), a Rollout page (the trajectory step
// by step, the patch, the grading, eval.log and the judge's verdict) and a
// Compare page (two rollouts of one instance side by side). WriteStatic
// writes the same pages as a self-contained static site.
//
// Everything shown comes from models, agents and test runs and is hostile:
// all of it goes through html/template, which escapes it for its context.
package view
