package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// progress reports an upload on stderr: a line redrawn in place on a
// terminal (percent, rate, time left), one plain line at the end otherwise,
// so logs of scripted imports stay readable.
type progress struct {
	w     io.Writer
	label string
	total int64
	tty   bool
	now   func() time.Time
	start time.Time
	last  time.Time
	n     atomic.Int64
}

// redrawEvery limits redraws: a terminal does not need more, and a fast
// local upload would otherwise spend its time printing.
const redrawEvery = 200 * time.Millisecond

func newProgress(w io.Writer, label string, total int64) *progress {
	f, ok := w.(*os.File)
	p := &progress{w: w, label: label, total: total, tty: ok && term.IsTerminal(int(f.Fd())), now: time.Now}
	p.start = p.now()
	return p
}

// reader counts what r delivers, redrawing the meter as it goes.
func (p *progress) reader(r io.Reader) io.Reader { return &progressReader{r: r, p: p} }

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(int64(n))
	return n, err
}

func (p *progress) add(n int64) {
	p.n.Add(n)
	if !p.tty {
		return
	}
	if now := p.now(); now.Sub(p.last) >= redrawEvery {
		p.last = now
		fmt.Fprintf(p.w, "\r\033[K%s", p.line(now))
	}
}

// line is the meter: "disk.img  37%  1.2 GiB / 3.3 GiB  112.4 MB/s  ETA 19s".
func (p *progress) line(now time.Time) string {
	done := p.n.Load()
	secs := now.Sub(p.start).Seconds()
	rate := float64(done) / max(secs, 1e-3)
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(done) / float64(p.total)
	}
	eta := "--"
	if rate > 0 && done < p.total {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	if p.total <= 0 { // a download whose server gave no length
		return fmt.Sprintf("%s  %s  %.1f MB/s", p.label, byteSize(done), rate/1e6)
	}
	return fmt.Sprintf("%s  %3.0f%%  %s / %s  %.1f MB/s  ETA %s", p.label, pct, byteSize(done), byteSize(p.total), rate/1e6, eta)
}

// finish ends the meter: the terminal line is completed, or the one plain
// line is written. Nothing is printed for a failed upload but the error.
func (p *progress) finish(ok bool) {
	now := p.now()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if !ok {
		return
	}
	secs := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "uploaded %s (%s) in %.1fs, %.1f MB/s\n", p.label, byteSize(p.n.Load()), secs, float64(p.n.Load())/1e6/max(secs, 1e-3))
}

// byteSize writes n in binary units: "512 B", "4.0 MiB", "1.2 GiB".
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
