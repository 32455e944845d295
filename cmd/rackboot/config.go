package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// applyLayers gives every flag the user did not set on the command line its
// value from, in order of precedence: a RACKBOOT_* environment variable,
// then the YAML config file, then the flag's default. Every value passes
// through the flag's own parser, so all three layers are checked alike.
func applyLayers(fs *pflag.FlagSet, configPath string, getenv func(string) string) error {
	file, err := readConfig(configPath, fs)
	if err != nil {
		return err
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" {
			return
		}
		env := envName(f.Name)
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", env, v, err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("config %s: %s: %q: %v", configPath, f.Name, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// envName is the environment variable for a flag: data-dir → RACKBOOT_DATA_DIR.
func envName(flag string) string {
	return "RACKBOOT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// readConfig reads a flat YAML mapping of flag names to values. Unknown
// keys are errors that name the key and its line, so a typo is never
// silently ignored.
func readConfig(path string, fs *pflag.FlagSet) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s: line %d: want a mapping of setting: value", path, m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if fs.Lookup(k.Value) == nil || k.Value == "config" {
			return nil, fmt.Errorf("config %s: line %d: unknown setting %q", path, k.Line, k.Value)
		}
		val, err := scalarValue(v)
		if err != nil {
			return nil, fmt.Errorf("config %s: line %d: %s: %w", path, v.Line, k.Value, err)
		}
		out[k.Value] = val
	}
	return out, nil
}

func scalarValue(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("want a list of plain values")
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("want a value or a list of values")
}
