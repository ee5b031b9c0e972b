// Package cgrouptest helps tests run a child process inside a real cgroup:
// it creates groups, writes their control files, and starts the test
// binary again inside a group from its first instruction, so that what the
// child reads of its cgroup is what a process in a container reads. It
// needs root and writable cgroups; where they are missing, the test is
// skipped with a message saying so.
package cgrouptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// NotMovedExit is the child's exit code when sh cannot write its pid into
// the group's cgroup.procs.
const NotMovedExit = 97

// MakeGroup creates the cgroup directory dir and removes it when t ends,
// after every child has exited. It skips t, naming what (the controller)
// and the error, when dir cannot be created.
func MakeGroup(t *testing.T, dir, what string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("%s not writable here: %s", what, err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("cannot remove test cgroup: %s", err)
		}
	})
}

// WriteFile writes a cgroup control file, failing t on error.
func WriteFile(t *testing.T, path, value string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatalf("cannot write %q to %q: %s", value, path, err)
	}
}

// Command returns a command that runs this test binary again, running no
// test, with the variables named in drop removed from the environment and
// env added. The caller's TestMain recognises one of env and acts as the
// child.
func Command(t *testing.T, drop []string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("cannot find the test binary: %s", err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "GORACE" || slices.Contains(drop, name)
	})
	// Under -race the child would otherwise sleep 1s at exit
	// (ThreadSanitizer's atexit_sleep_ms).
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// InGroup rewrites cmd to start inside the cgroup whose cgroup.procs is
// procs: sh writes its own pid there, then execs cmd. (SysProcAttr's
// UseCgroupFD does this without sh, but for cgroup v2 only.)
func InGroup(t *testing.T, cmd *exec.Cmd, procs string) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("cannot start a child inside a cgroup without sh: %s", err)
	}
	script := fmt.Sprintf(`echo $$ > "$1" || exit %d; shift; exec "$@"`, NotMovedExit)
	cmd.Args = append([]string{"sh", "-c", script, "sh", procs}, cmd.Args...)
	cmd.Path = sh
}

// Run runs cmd, logs its stderr, and decodes the JSON report it prints on
// stdout into report. It skips t when the child could not be moved into
// its cgroup.
func Run(t *testing.T, cmd *exec.Cmd, report any) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("child log: %s", s)
	}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == NotMovedExit {
		t.Skipf("cgroup not writable here: cannot move a process into it: %s", strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		t.Fatalf("child %v failed: %s", cmd.Args, err)
	}
	if err := json.Unmarshal(stdout.Bytes(), report); err != nil {
		t.Fatalf("cannot decode the child's report %q: %s", stdout.String(), err)
	}
}
