package virtual

import "syscall"

// childAttr makes the kernel kill QEMU if the BMC process dies, so a
// crashed test or appliance never leaves VMs running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
