package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// An IPMI BMC is OpenIPMI's ipmi_sim with this rackboot as its chassis
// control program: lan.conf's `chassis_control "PROG"` makes ipmi_sim run
// `PROG get power`, `PROG set power 1`, `PROG set boot pxe`, … for every
// chassis command, and Chassis carries them out on the VM's QEMU. (Its own
// startcmd only does power: ipmi_sim 2.0.33 answers "Invalid data field"
// to every boot device write unless a chassis control program is set.)

// IgnoreBoot is a file that, present in an IPMI BMC's dir, makes it take
// boot device writes and keep the device it had, like a faulty vendor
// BMC, so a test sees rackboot read the override back and report it as
// not applied.
const IgnoreBoot = "ignore-boot"

// IPMISim writes an IPMI BMC's configuration into dir and returns the
// ipmi_sim command line, listening on UDP 127.0.0.1:port with one admin
// account; chassis is the chassis control program's command (a rackboot
// binary: "BINARY lab ipmi-chassis DIR" is run). qemu is the VM's command
// line, power-on starts it.
func IPMISim(binary, dir string, port int, user, pass string, qemu []string) ([]string, error) {
	if strings.ContainsAny(dir+binary, " \"'") {
		return nil, fmt.Errorf("%w: ipmi: %s: no spaces or quotes (ipmi_sim runs the hook through a shell)", ErrConfig, dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		return nil, err
	}
	lan := fmt.Sprintf(`name "labbmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %d
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "%s lab ipmi-chassis %s"
  user 2 true "%s" "%s" admin 10 none md2 md5 straight
`, port, binary, dir, user, pass)
	emu := "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n"
	files := map[string]string{"lan.conf": lan, "bmc.emu": emu, "qemu.argv": strings.Join(qemu, "\n") + "\n", "boot": "none\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	return []string{"ipmi_sim", "-n", "-c", filepath.Join(dir, "lan.conf"), "-f", filepath.Join(dir, "bmc.emu"), "-s", filepath.Join(dir, "state")}, nil
}

// Chassis is one chassis control command of an IPMI lab BMC whose files
// are in dir: op "get" prints "NAME:VALUE" for each of args (power,
// boot), op "set" applies NAME VALUE pairs (power 0|1, reset, shutdown,
// boot none|pxe|default|cdrom). One command at a time: a client that
// times out and sends its command again must not have a power-on start
// QEMU while an earlier power-off is still stopping it.
func Chassis(dir, op string, args []string, out io.Writer) error {
	lock, err := os.OpenFile(filepath.Join(dir, "chassis.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	if f, err := os.OpenFile(filepath.Join(dir, "chassis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "%s %s %s\n", time.Now().Format("15:04:05.000000"), op, strings.Join(args, " "))
		f.Close()
	}
	switch op {
	case "get":
		for _, name := range args {
			switch name {
			case "power":
				p := 0
				if _, ok := vmPID(dir); ok {
					p = 1
				}
				fmt.Fprintf(out, "power:%d\n", p)
			case "boot":
				fmt.Fprintf(out, "boot:%s\n", readWord(filepath.Join(dir, "boot"), "none"))
			}
		}
		return nil
	case "set":
		for i := 0; i+1 < len(args); i += 2 {
			if err := chassisSet(dir, args[i], args[i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("ipmi-chassis: %q: want get or set", op)
}

func chassisSet(dir, name, value string) error {
	switch name {
	case "power":
		if value == "1" {
			return vmStart(dir)
		}
		vmStop(dir)
	case "reset":
		vmStop(dir)
		return vmStart(dir)
	case "shutdown": // no guest agent: a soft off is a TERM
		vmStop(dir)
	case "boot":
		if _, err := os.Stat(filepath.Join(dir, IgnoreBoot)); err == nil {
			return nil
		}
		return os.WriteFile(filepath.Join(dir, "boot"), []byte(value+"\n"), 0o600)
	}
	return nil
}

// vmPID is the running (not zombie) QEMU's pid.
func vmPID(dir string) (int, bool) {
	pid, err := strconv.Atoi(readWord(filepath.Join(dir, "qemu.pid"), ""))
	if err != nil {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i < 0 || i+2 >= len(s) || s[i+2] == 'Z' {
		return 0, false
	}
	return pid, true
}

// vmStart starts QEMU detached with the boot device set for this one
// power-on, its output to qemu.log: ipmi_sim reads the hook's output and
// would wait for QEMU to close it.
func vmStart(dir string) error {
	if _, ok := vmPID(dir); ok {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "qemu.argv"))
	if err != nil {
		return err
	}
	var argv []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		argv = append(argv, sc.Text())
	}
	switch readWord(filepath.Join(dir, "boot"), "none") {
	case "pxe":
		argv = append(argv, "-boot", "once=n")
	case "default":
		argv = append(argv, "-boot", "once=c")
	case "cdrom":
		argv = append(argv, "-boot", "once=d")
	}
	os.WriteFile(filepath.Join(dir, "boot"), []byte("none\n"), 0o600)
	log, err := os.OpenFile(filepath.Join(dir, "qemu.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release() // its parent is ipmi_sim's short-lived hook: init reaps it
	return os.WriteFile(filepath.Join(dir, "qemu.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o600)
}

// StopVM stops the QEMU of the IPMI BMC in dir, if it runs.
func StopVM(dir string) {
	lock, err := os.OpenFile(filepath.Join(dir, "chassis.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		defer lock.Close()
		syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	}
	vmStop(dir)
}

// vmStop stops QEMU: TERM, KILL after 5 s.
func vmStop(dir string) {
	pid, ok := vmPID(dir)
	if !ok {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 50; i++ {
		if _, ok := vmPID(dir); !ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

func readWord(path, def string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	if w := strings.TrimSpace(string(b)); w != "" {
		return w
	}
	return def
}
