// Package dataset loads any task set sweval reads, picking the loader by
// what the path holds: a Doc2Repo set (sweval's manifest, DeNovoSWE JSONL or
// an NL2RepoBench folder) or a SWE-bench-style file (SWE-bench JSON/JSONL,
// SWE-rebench, OpenSWE rows). A new task kind adds its sniff and loader here.
package dataset
