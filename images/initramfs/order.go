package initramfs

import (
	"fmt"
	"sort"
)

// loadOrder resolves the wanted modules and their dependencies into the
// order to load them: every module after all it depends on. Built-in
// modules are dropped; a wanted module that is neither built in nor in the
// tree is an error, so a typo does not silently give a ramdisk without a
// driver. The order is deterministic: wanted modules in the order given,
// each one's dependencies in name order.
func loadOrder(wanted []string, ix *index, src depSource) ([]string, error) {
	var order []string
	done := map[string]bool{}
	visiting := map[string]bool{}
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		if done[name] || ix.builtin[name] {
			return nil
		}
		if visiting[name] {
			return fmt.Errorf("dependency cycle: %v", append(chain, name))
		}
		if _, ok := ix.paths[name]; !ok {
			return fmt.Errorf("module %s: not in %s (chain %v)", name, ix.dir, chain)
		}
		visiting[name] = true
		deps, err := src.deps(name)
		if err != nil {
			return fmt.Errorf("module %s: %w", name, err)
		}
		deps = append([]string(nil), deps...)
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		visiting[name] = false
		done[name] = true
		order = append(order, name)
		return nil
	}
	for _, w := range wanted {
		if err := visit(modName(w), nil); err != nil {
			return nil, fmt.Errorf("load order: %w", err)
		}
	}
	return order, nil
}
