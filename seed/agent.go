package seed

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"text/template"

	"github.com/rackboot/rackboot/machineapi"
)

// Where the seed's cloud-init puts the agent on an installed host.
const (
	agentUnitName   = "rackboot-agent.service"
	agentUnitPath   = "/etc/systemd/system/" + agentUnitName
	agentBinaryPath = "/usr/local/bin/rackboot"
	agentTokenPath  = "/etc/rackboot/agent.token" // 0600: the token is the host's credential
)

// checkAgent refuses values that would break out of the unit or the
// script they are written into; none of them has a reason to hold such
// bytes.
func checkAgent(h Config) error {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("seed: URL %q: want http(s)://HOST:PORT", h.URL)
	}
	for name, v := range map[string]string{"URL": h.URL, "MAC": h.MAC, "token": h.Token} {
		if v == "" || strings.ContainsAny(v, "\n\r'\"\\ $`%") {
			return fmt.Errorf("seed: %s %q is empty or holds a character it must not", name, v)
		}
	}
	return nil
}

var unitTmpl = template.Must(template.New("unit").Parse(`[Unit]
Description=rackboot config agent
Wants=network-online.target
After=network-online.target
# Never give up: the agent is how the host stays configured.
StartLimitIntervalSec=0

[Service]
ExecStart={{.Binary}} agent --server {{.URL}} --mac {{.MAC}} --token-file {{.TokenPath}}
Restart=always
RestartSec=5s
TimeoutStopSec=15s

[Install]
WantedBy=multi-user.target
`))

// agentUnit returns the unit that runs the agent on a host. The token is
// read from agentTokenPath, not the command line, which every user can see.
func agentUnit(h Config) (string, error) {
	if err := checkAgent(h); err != nil {
		return "", err
	}
	return renderText(unitTmpl, map[string]string{"Binary": agentBinaryPath, "URL": strings.TrimRight(h.URL, "/"), "MAC": h.MAC, "TokenPath": agentTokenPath})
}

var userDataTmpl = template.Must(template.New("user-data").Parse(`#cloud-config
# Written by rackboot: installs and starts the config agent.
write_files:
  - path: {{.TokenPath}}
    owner: root:root
    permissions: "0600"
    content: "{{.Token}}\n"
  - path: {{.UnitPath}}
    permissions: "0644"
    content: |
{{.Unit}}
  - path: /etc/rackboot/install-agent.sh
    permissions: "0700"
    content: |
      #!/bin/sh
      # An image may carry the binary already; otherwise fetch the
      # appliance's own, with the host's agent token.
      set -eu
      if [ ! -x {{.Binary}} ]; then
        url='{{.BinaryURL}}'
        auth="Authorization: Bearer $(cat {{.TokenPath}})"
        if command -v curl >/dev/null 2>&1; then
          curl -fsS --retry 10 --retry-connrefused -H "$auth" -o {{.Binary}}.part "$url"
        else
          wget -q -t 10 --header "$auth" -O {{.Binary}}.part "$url"
        fi
        chmod 0755 {{.Binary}}.part
        mv {{.Binary}}.part {{.Binary}}
      fi
      systemctl daemon-reload
      systemctl enable --now {{.UnitName}}
runcmd:
  - [/etc/rackboot/install-agent.sh]
`))

// agentUserData returns cloud-init user-data that installs the agent: the
// token file, the unit, and a script that fetches the binary from the
// appliance (GET /machine/v1/agent/binary) unless the image carries it at
// agentBinaryPath, then enables and starts the unit.
func agentUserData(h Config) (string, error) {
	unit, err := agentUnit(h)
	if err != nil {
		return "", err
	}
	indented := "      " + strings.ReplaceAll(strings.TrimRight(unit, "\n"), "\n", "\n      ")
	indented = strings.ReplaceAll(indented, "\n      \n", "\n\n")
	return renderText(userDataTmpl, map[string]string{"TokenPath": agentTokenPath, "Token": h.Token, "UnitPath": agentUnitPath,
		"Unit": indented, "Binary": agentBinaryPath, "BinaryURL": machineapi.URL(h.URL, machineapi.PathAgentBinary, h.MAC), "UnitName": agentUnitName})
}

func renderText(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return b.String(), nil
}
