package server

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// splitCPUs binds the test process, every thread of it, to the first CPU
// it may run on, with GOMAXPROCS 1, until the benchmark ends, and returns
// the function to start a child process with, which binds the child to
// the other CPUs. Where the process may run on fewer than two CPUs it
// binds nothing and returns (*exec.Cmd).Start.
//
// A benchmark that measures the server's CPU time against a child's load
// runs the two apart: sharing CPUs, each wakeup of one preempts the other
// and the server's CPU time per request follows the child's load as much
// as its own work.
func splitCPUs(tb testing.TB) (startChild func(*exec.Cmd) error) {
	tb.Helper()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil || all.Count() < 2 {
		return (*exec.Cmd).Start
	}
	var server unix.CPUSet
	rest := all
	for cpu := 0; ; cpu++ {
		if all.IsSet(cpu) {
			server.Set(cpu)
			rest.Clear(cpu)
			break
		}
	}
	// A thread the runtime starts later inherits the binding of the one
	// that starts it: binding every thread there is now binds them all.
	bindAll := func(set *unix.CPUSet) error {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
				return err
			}
		}
		return nil
	}
	if err := bindAll(&server); err != nil {
		tb.Fatalf("cannot bind the test process to one CPU: %v", err)
	}
	procs := runtime.GOMAXPROCS(1)
	tb.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		if err := bindAll(&all); err != nil {
			tb.Errorf("cannot unbind the test process: %v", err)
		}
	})
	return func(cmd *exec.Cmd) error {
		// The child inherits the binding of the thread that starts it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := unix.SchedSetaffinity(0, &rest); err != nil {
			return err
		}
		defer unix.SchedSetaffinity(0, &server)
		return cmd.Start()
	}
}
