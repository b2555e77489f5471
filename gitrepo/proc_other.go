//go:build !unix

package gitrepo

import "os/exec"

func detach(*exec.Cmd) {}
