//go:build !unix

package command

import "os/exec"

// ownProcessGroup leaves cmd as it is: without process groups, the end of
// its context kills the program alone (exec's default).
func ownProcessGroup(*exec.Cmd) {}
