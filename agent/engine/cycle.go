package engine

// findCycle runs a depth-first search and returns a CycleError naming the
// first cycle found, in graph insertion order so the message is stable.
func (g *Graph) findCycle() error {
	next := g.successors()
	const (
		unseen = iota
		onPath
		done
	)
	color := map[Key]int{}
	var path []Key
	var visit func(k Key) []Key
	visit = func(k Key) []Key {
		color[k] = onPath
		path = append(path, k)
		for _, n := range next[k] {
			switch color[n] {
			case onPath:
				return cyclePath(path, n)
			case unseen:
				if c := visit(n); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		color[k] = done
		return nil
	}
	for _, k := range g.order {
		if color[k] == unseen {
			if c := visit(k); c != nil {
				return &CycleError{Path: c}
			}
		}
	}
	return nil
}

// cyclePath cuts the DFS path at the first occurrence of start and closes it.
func cyclePath(path []Key, start Key) []Key {
	for i, k := range path {
		if k == start {
			c := append([]Key(nil), path[i:]...)
			return append(c, start)
		}
	}
	return nil
}

func (g *Graph) successors() map[Key][]Key {
	next := map[Key][]Key{}
	for _, e := range g.edges {
		next[e.From] = append(next[e.From], e.To)
	}
	return next
}
