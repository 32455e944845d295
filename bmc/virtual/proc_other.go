//go:build !linux

package virtual

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
