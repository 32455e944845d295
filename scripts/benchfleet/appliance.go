package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// appliance is `rackboot serve` running as a process on loopback.
type appliance struct {
	cmd       *exec.Cmd
	api, boot string
	token     string
	http      *http.Client
	done      chan struct{}
}

func startAppliance(ctx context.Context, bin, dir string) (*appliance, error) {
	data := filepath.Join(dir, "data")
	log, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	a := &appliance{http: &http.Client{Timeout: time.Minute}, done: make(chan struct{})}
	// The API in plain HTTP (--insecure-http): all on loopback, and what
	// is measured is the machine side, which is HTTP anyway.
	a.cmd = exec.Command(bin, "serve", "--insecure-http", "--data-dir", data, "--api-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--tftp-addr=", "--log-format", "json", "--log-level", "debug")
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start serve: %w", err)
	}
	serving := make(chan struct{ API, BootURL string }, 1)
	go func() {
		defer close(a.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			log.Write(append(sc.Bytes(), '\n'))
			var l struct {
				Msg     string
				API     string
				BootURL string `json:"boot_url"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "rackboot serving" {
				serving <- struct{ API, BootURL string }{l.API, l.BootURL}
			}
		}
		log.Close()
	}()
	select {
	case s := <-serving:
		a.api, a.boot = "http://"+s.API, s.BootURL
	case <-time.After(30 * time.Second):
		a.stop()
		return nil, fmt.Errorf("serve did not start: see %s", log.Name())
	case <-ctx.Done():
		a.stop()
		return nil, ctx.Err()
	}
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	a.token = strings.TrimSpace(string(tok))
	return a, err
}

func (a *appliance) pid() int { return a.cmd.Process.Pid }

func (a *appliance) stop() {
	a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd.Wait()
}

// do calls the operator API.
func (a *appliance) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.api+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
