package lab

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// Case is one JUnit test case: a setup step or an expectation.
type Case struct {
	Class   string // the VM, or "setup"
	Name    string
	Elapsed time.Duration
	Failure string // empty when it passed
	Detail  string // the console's last lines and the host's events, on failure
}

// Report is a lab test's result.
type Report struct {
	Suite   string
	Started time.Time
	Cases   []Case
}

// Failed counts the failed cases.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Cases {
		if c.Failure != "" {
			n++
		}
	}
	return n
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Time    string        `xml:"time,attr"`
	Failure *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML, the format CI systems read.
func (r *Report) WriteJUnit(w io.Writer) error {
	var total time.Duration
	s := junitSuite{Name: r.Suite, Tests: len(r.Cases), Failures: r.Failed(), Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")}
	for _, c := range r.Cases {
		total += c.Elapsed
		jc := junitCase{Class: c.Class, Name: c.Name, Time: secs(c.Elapsed)}
		if c.Failure != "" {
			jc.Failure = &junitFailure{Message: c.Failure, Type: "expectation", Body: c.Failure + "\n\n" + xmlSafe(c.Detail)}
		}
		s.Cases = append(s.Cases, jc)
	}
	s.Time = secs(time.Since(r.Started))
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// xmlSafe drops what XML 1.0 cannot carry (a console's escape codes and
// other control characters), keeping newlines and tabs.
func xmlSafe(s string) string {
	b := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0xFFFE && r != 0xFFFF) {
			b = append(b, r)
		}
	}
	return string(b)
}
