//go:build unix

package gitrepo

import (
	"os/exec"
	"syscall"
)

// detach starts git in its own process group: a SIGINT sent to this process's group (Ctrl-C
// in a terminal) does not reach it.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
