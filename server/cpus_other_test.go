//go:build !linux

package server

import (
	"os/exec"
	"testing"
)

// splitCPUs binds nothing where CPU binding is not available (see
// cpus_linux_test.go): the child is started as it is.
func splitCPUs(tb testing.TB) (startChild func(*exec.Cmd) error) { return (*exec.Cmd).Start }
