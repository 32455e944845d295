package seed

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/rackboot/rackboot/machineapi"
)

// Where the seed puts the agent on an installed host.
const (
	agentUnitName   = "rackboot-agent.service"
	agentUnitPath   = "/etc/systemd/system/" + agentUnitName
	agentBinaryPath = "/usr/local/bin/rackboot"
	agentTokenPath  = "/etc/rackboot/agent.token" // 0600: the token is the host's credential
)

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
func agentUnit(c Config) (string, error) {
	return renderText(unitTmpl, map[string]string{"Binary": agentBinaryPath, "URL": strings.TrimRight(c.URL, "/"), "MAC": c.MAC, "TokenPath": agentTokenPath})
}

// The script is rackboot's own user-data part: a script, not a
// cloud-config, so no merge with the operator's parts can drop or reorder
// it. cloud-init runs it once per instance, late in boot (the network is
// up). Every value in it was checked by checkAgent: no quote, space,
// backslash or line break.
var scriptTmpl = template.Must(template.New("script").Parse(`#!/bin/sh
# Written by rackboot: installs and starts the rackboot config agent with
# this host's token, and reports the first boot from disk.
set -eu
install -d -m 0700 /etc/rackboot
umask 077
echo '{{.Token}}' >{{.TokenPath}}
umask 022
cat >{{.UnitPath}} <<'RACKBOOT_UNIT'
{{.Unit}}RACKBOOT_UNIT
auth="Authorization: Bearer $(cat {{.TokenPath}})"
fetch() { # URL FILE: the image may have curl or wget
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --retry 10 --retry-connrefused --retry-delay 2 -H "$auth" -o "$2" "$1"
	else
		wget -q -t 10 --header "$auth" -O "$2" "$1"
	fi
}
post() { # URL JSON
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --retry 5 --retry-connrefused -X POST -H "$auth" -H 'Content-Type: application/json' -d "$2" -o /dev/null "$1"
	else
		wget -q -t 5 --header "$auth" --header 'Content-Type: application/json' --post-data "$2" -O /dev/null "$1"
	fi
}
if [ ! -x {{.Binary}} ]; then
	fetch '{{.BinaryURL}}' {{.Binary}}.part
	chmod 0755 {{.Binary}}.part
	mv {{.Binary}}.part {{.Binary}}
fi
firmware=bios
[ -d /sys/firmware/efi ] && firmware=uefi
post '{{.FirstBootURL}}' "{\"mac\":\"{{.MAC}}\",\"event\":\"first-boot\",\"firmware\":\"$firmware\"}" ||
	echo "rackboot: the first-boot report failed; the agent's check-in follows" >&2
systemctl daemon-reload
systemctl enable --now {{.UnitName}}
`))

// agentScript returns rackboot's user-data part: the token file, the
// unit, the binary fetched from the appliance (GET
// /machine/v1/agent/binary) unless the image carries it, the first-boot
// report, and the unit enabled and started.
func agentScript(c Config) (string, error) {
	unit, err := agentUnit(c)
	if err != nil {
		return "", err
	}
	base := strings.TrimRight(c.URL, "/")
	binURL := c.Agent
	if binURL == "" {
		binURL = machineapi.URL(base, machineapi.PathAgentBinary, c.MAC)
	}
	return renderText(scriptTmpl, map[string]string{"Token": c.Token, "TokenPath": agentTokenPath, "UnitPath": agentUnitPath,
		"Unit": unit, "Binary": agentBinaryPath, "BinaryURL": binURL, "MAC": c.MAC, "UnitName": agentUnitName,
		"FirstBootURL": machineapi.URL(base, machineapi.PathFirstBoot, c.MAC)})
}

func renderText(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return b.String(), nil
}
