package debianimage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const (
	hostname = "imgtest"
	sshKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJP7PoJtQbI66HOtlEB3sKWHTVTGXKVqyFQN/RDw6I5h imgtest@rackboot" // private half discarded
)

// userData writes /root/seeded, gives the default user (debian) the key,
// and has cloud-init's last stage start imgtest-report in a unit of its
// own: it waits for cloud-init to be done (it cannot wait inside runcmd,
// which is part of the stage it would wait for) and prints what the test
// checks on the serial console, one "IMGTEST key=value" line each.
const userData = `#cloud-config
ssh_authorized_keys:
  - ` + sshKey + `
write_files:
  - path: /root/seeded
    content: "seeded by the imgtest NoCloud seed\n"
  - path: /usr/local/sbin/imgtest-report
    permissions: "0755"
    content: |
      #!/bin/sh
      cloud-init status --wait >/dev/null
      sb=$(od -An -t u1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>/dev/null | awk '{print $NF}')
      {
        echo "IMGTEST ROOTSIZE=$(df -B1 --output=size / | tail -n1 | tr -d ' ')"
        echo "IMGTEST SEEDED=$(test -f /root/seeded && echo yes || echo no)"
        echo "IMGTEST KEYS=$(grep -c imgtest@rackboot /home/debian/.ssh/authorized_keys)"
        echo "IMGTEST HOSTKEY=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $2}')"
        echo "IMGTEST MACHINEID=$(cat /etc/machine-id)"
        echo "IMGTEST FIRMWARE=$(test -d /sys/firmware/efi && echo uefi || echo bios)"
        echo "IMGTEST SECUREBOOT=${sb:-none}"
        echo "IMGTEST CISTATUS=$(cloud-init status | sed 's/^status: //')"
        echo "IMGTEST END"
      } >/dev/ttyS0
runcmd:
  - [systemd-run, --no-block, --unit=imgtest-report, /usr/local/sbin/imgtest-report]
`

// writeSeed makes a NoCloud seed disk in dir: a small FAT filesystem
// labelled CIDATA (the label cloud-init's ds-identify looks for) holding
// meta-data and user-data. It returns the image's path.
func writeSeed(t *testing.T, dir, instanceID string) string {
	t.Helper()
	files := filepath.Join(dir, "seed")
	if err := os.Mkdir(files, 0o755); err != nil {
		t.Fatal(err)
	}
	metaData := fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", instanceID, hostname)
	for name, content := range map[string]string{"meta-data": metaData, "user-data": userData} {
		if err := os.WriteFile(filepath.Join(files, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(dir, "seed.img")
	run(t, nil, "mkfs.vfat", "-n", "CIDATA", "-C", img, "8192")
	run(t, []string{"MTOOLS_SKIP_CHECK=1"}, "mcopy", "-i", img,
		filepath.Join(files, "meta-data"), filepath.Join(files, "user-data"), "::/")
	return img
}

// run runs a command with extra environment variables and fails the test
// with its output when it fails.
func run(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
