package view

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/sweval/sweval/harness/result"
)

func parseTemplates() (*template.Template, error) {
	funcs := template.FuncMap{
		"safe": func(id string) string { return url.PathEscape(result.SafeName(id)) },
		"join": strings.Join,
		"f1":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"f2":   func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"f3":   func(f float64) string { return fmt.Sprintf("%.3f", f) },
		"deref": func(p *int) string {
			if p == nil {
				return "–"
			}
			return fmt.Sprint(*p)
		},
		"sel":  func(a, b string) bool { return a == b },
		"inc":  func(i int) int { return i + 1 },
		"len0": func(s []string) int { return len(s) },
	}
	t, err := template.New("view").Funcs(funcs).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse view templates (a build problem; rebuild sweval): %w", err)
	}
	return t, nil
}
