//go:build unix

package command

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup runs cmd in a process group of its own, and makes the
// end of its context kill the whole group: a program that started helpers
// does not leave them running past the timeout. The group is killed while
// its leader, not yet waited for, still holds the group's id, so the kill
// cannot reach another process.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
