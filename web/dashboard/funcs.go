package dashboard

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"time"
)

func funcs() template.FuncMap {
	return template.FuncMap{
		"bytes":  bytesOf,
		"when":   when,
		"labels": sortedLabels,
		"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
}

// humanBytes prints sizes the way disks are sold, in powers of 1000, with
// the exact figure left to the title attribute by the templates.
// bytesOf is humanBytes of a size of either sign's type (facts are uint64,
// deploy progress int64); a negative one shows as 0 B.
func bytesOf(n any) string {
	switch v := n.(type) {
	case uint64:
		return humanBytes(v)
	case int64:
		return humanBytes(uint64(max(v, 0)))
	case int:
		return humanBytes(uint64(max(v, 0)))
	}
	return fmt.Sprint(n)
}

func humanBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// when prints a time in UTC to the second: the appliance and its operators
// may sit in different zones, and the event log is in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

type label struct{ Key, Value string }

func sortedLabels(m map[string]string) []label {
	out := make([]label, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, label{k, m[k]})
	}
	return out
}
