package partition

// Scanner reads a disk image's layout from its content as it streams past
// (an io.Writer beside the hasher of an import), keeping only the first
// HeadSize bytes and LabelWindow bytes at each partition's start. Its zero
// value is ready to use.
type Scanner struct {
	head    []byte
	off     int64
	parsed  bool
	layout  Layout
	err     error
	windows []window
}

// window is the start of one partition, filled as its bytes pass.
type window struct {
	start int64
	buf   []byte
	n     int // bytes filled, from the start
}

// Write takes the next bytes of the content; it never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	n := len(p)
	if !s.parsed && s.off < HeadSize {
		k := min(int64(len(p)), HeadSize-s.off)
		s.head = append(s.head, p[:k]...)
		s.off += k
		p = p[k:]
		if s.off == HeadSize {
			s.parse()
		}
	}
	if len(p) > 0 {
		s.fill(p, s.off)
		s.off += int64(len(p))
	}
	return n, nil
}

// parse reads the table from the head and opens a window at every
// partition, filled at once from the head where it overlaps.
func (s *Scanner) parse() {
	s.parsed = true
	s.layout, s.err = Parse(s.head)
	if s.err != nil {
		return
	}
	for _, p := range s.layout.Partitions {
		s.windows = append(s.windows, window{start: p.Start, buf: make([]byte, min(LabelWindow, p.Size))})
	}
	s.fill(s.head, 0)
}

// fill copies what of p, at offset off of the content, falls in a window.
// Windows fill in order, so a gap in one (none in a stream) ends it.
func (s *Scanner) fill(p []byte, off int64) {
	for i := range s.windows {
		w := &s.windows[i]
		pos := w.start + int64(w.n)
		if w.n == len(w.buf) || pos < off || pos >= off+int64(len(p)) {
			continue
		}
		w.n += copy(w.buf[w.n:], p[pos-off:])
	}
}

// Layout is the layout of the content written so far, with labels: call
// it when the whole content has been written.
func (s *Scanner) Layout() (Layout, error) {
	if !s.parsed {
		s.parse()
	}
	if s.err != nil {
		return Layout{}, s.err
	}
	l := s.layout
	l.Partitions = append([]Partition(nil), l.Partitions...)
	for i, w := range s.windows {
		l.Partitions[i].FS, l.Partitions[i].Label = FSLabel(w.buf[:w.n])
	}
	return l, nil
}
