package installer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// Errors the appliance answers with that the installer branches on.
var (
	// ErrUnauthorized is a 401: the boot token is wrong or expired.
	ErrUnauthorized = errors.New("appliance refused the boot token")
	// ErrRejected is a 400: the appliance could not use the report.
	ErrRejected = errors.New("appliance rejected the request as malformed")
	// ErrConflict is a 409: the host is not in a state that takes a report
	// (a restarted installer reporting a host that is already ready). The
	// installer moves on to asking what to do next.
	ErrConflict = errors.New("appliance ignored the report for the host's state")
)

// StatusError is any other unexpected answer.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("appliance answered %d: %s", e.Code, e.Body)
}

// Client speaks the appliance's machine API with the host's boot token.
type Client struct {
	BaseURL string // from rackboot.url, no trailing slash
	Token   string
	MAC     string
	// OnResume, when set, hears of each broken image download picked up
	// again: the offset it resumes from and why.
	OnResume func(off int64, cause error)
	// Sleep waits between resumes; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTP is the client to use; nil means one with no overall timeout
	// (each call sets its own deadline through its context).
	HTTP *http.Client
}

// nextTimeout bounds one poll: the appliance may hold a long poll up to 30 s.
const nextTimeout = 35 * time.Second

// reportTimeout bounds one report attempt.
const reportTimeout = 30 * time.Second

// Claim tells the appliance the installer is up on the host and takes the
// boot token of this boot, which the client uses from then on. nonce is
// the installer's own, random per run: a claim repeated with it after a
// lost answer gets the same token.
func (c *Client) Claim(ctx context.Context, nonce, mode string) (machineapi.Claimed, error) {
	var ans machineapi.Claimed
	if err := c.postAnswer(ctx, reportTimeout, machineapi.PathClaim, machineapi.Claim{Nonce: nonce, Mode: mode}, &ans); err != nil {
		return ans, err
	}
	if ans.Token == "" {
		return ans, fmt.Errorf("claim: %w: no token in the answer", ErrRejected)
	}
	c.Token = ans.Token
	return ans, nil
}

// Seed takes the deploy's seed, handed out once per deploy.
func (c *Client) Seed(ctx context.Context) (machineapi.Seed, error) {
	var sd machineapi.Seed
	err := c.postAnswer(ctx, postTimeout, machineapi.PathSeed, struct{}{}, &sd)
	return sd, err
}

// Report posts the facts; nil means the appliance accepted them (200).
func (c *Client) Report(ctx context.Context, f machineapi.Facts) error {
	return c.postWithin(ctx, reportTimeout, machineapi.PathInspect, machineapi.InspectReport{MAC: c.MAC, Facts: &f})
}

// Next asks the appliance what to do now.
func (c *Client) Next(ctx context.Context) (machineapi.Next, error) {
	ctx, cancel := context.WithTimeout(ctx, nextTimeout)
	defer cancel()
	u := machineapi.URL(c.BaseURL, machineapi.PathNext, c.MAC)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return machineapi.Next{}, fmt.Errorf("next: %w", err)
	}
	var n machineapi.Next
	if err := c.do(req, &n); err != nil {
		return machineapi.Next{}, fmt.Errorf("next: %w", err)
	}
	return n, nil
}

// send sends req with the host's token on c.HTTP (or the default client).
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(req)
}

// do sends req with the token and maps the status; on 200 it decodes the
// body into out when out is not nil.
func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusErr(resp)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// statusErr is the error of an answer other than the one wanted: the
// package's error values for 401, 400 and 409, a *StatusError otherwise.
func statusErr(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %s", ErrRejected, readSome(resp.Body))
	case http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrConflict, readSome(resp.Body))
	}
	return &StatusError{Code: resp.StatusCode, Body: readSome(resp.Body)}
}

// readSome reads the start of an error body for the log; the console is no
// place for a whole HTML page.
func readSome(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 512))
	return string(bytes.TrimSpace(b))
}

// postTimeout bounds one deploy or wipe report.
const postTimeout = 15 * time.Second

// Progress reports the bytes written so far.
func (c *Client) Progress(ctx context.Context, p machineapi.Progress) error {
	return c.post(ctx, machineapi.PathProgress, p)
}

// Deployed reports the image written, verified and seeded.
func (c *Client) Deployed(ctx context.Context, d machineapi.Deployed) error {
	return c.post(ctx, machineapi.PathDeployed, d)
}

// Failed reports a deploy that failed, with its cause.
func (c *Client) Failed(ctx context.Context, cause string) error {
	return c.post(ctx, machineapi.PathFailed, machineapi.Failed{Cause: cause})
}

// Wiped reports a finished quick wipe.
func (c *Client) Wiped(ctx context.Context, w machineapi.Wiped) error {
	return c.post(ctx, machineapi.PathWiped, w)
}

func (c *Client) post(ctx context.Context, path string, v any) error {
	return c.postWithin(ctx, postTimeout, path, v)
}

// postWithin posts v as JSON to the machine API's path, for the host,
// within timeout.
func (c *Client) postWithin(ctx context.Context, timeout time.Duration, path string, v any) error {
	return c.postAnswer(ctx, timeout, path, v, nil)
}

// postAnswer is postWithin that decodes the answer into out (unless nil).
func (c *Client) postAnswer(ctx context.Context, timeout time.Duration, path string, v, out any) error {
	what := strings.TrimPrefix(path, "/machine/v1/")
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := machineapi.URL(c.BaseURL, path, c.MAC)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := c.do(req, out); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Image opens the image stream at u (the deploy's image_url, which the
// appliance builds with the host's MAC). The caller closes the body. The
// whole download has no deadline: a large image on a slow link may take
// long. A connection that breaks midway is resumed from where it stopped
// (see resumingBody); a stream that still ends short is an error, never a
// short image.
func (c *Client) Image(ctx context.Context, u string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, fmt.Errorf("image: %w", statusErr(resp))
	}
	pause := c.Sleep
	if pause == nil {
		pause = sleep
	}
	return &resumingBody{ctx: ctx, c: c, url: u, etag: resp.Header.Get("ETag"), body: resp.Body,
		total: resp.ContentLength, onResume: c.OnResume, sleep: pause}, nil
}
