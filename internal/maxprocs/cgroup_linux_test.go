//go:build linux

package maxprocs

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/adx-exchange/adx/internal/cgrouptest"
)

// The tests in this file run Apply in a child process (this test binary
// re-executed) started inside a real cgroup with a CPU quota.
//
// helperEnv makes the test binary act as the child.
const helperEnv = "ADX_MAXPROCS_TEST_HELPER"

// helperReport is what the child prints on stdout as JSON.
type helperReport struct {
	// RuntimeDefault is GOMAXPROCS before Apply: the runtime's own choice
	// (or the GOMAXPROCS variable).
	RuntimeDefault int
	Procs          int
	Err            string
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	os.Exit(m.Run())
}

// runHelper is the child's main. It logs Apply's line as JSON on stderr.
func runHelper() int {
	rep := helperReport{RuntimeDefault: runtime.GOMAXPROCS(0)}
	procs, err := Apply(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	rep.Procs = procs
	if err != nil {
		rep.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runInCgroup runs the helper inside the cgroup whose cgroup.procs is
// procs, with GOMAXPROCS removed from the environment and extraEnv added,
// so the child (and the runtime's own GOMAXPROCS default) starts inside
// the group.
func runInCgroup(t *testing.T, procs string, extraEnv ...string) helperReport {
	t.Helper()
	cmd := cgrouptest.Command(t, []string{"GOMAXPROCS"}, append([]string{helperEnv + "=1"}, extraEnv...)...)
	cgrouptest.InGroup(t, cmd, procs)
	var rep helperReport
	cgrouptest.Run(t, cmd, &rep)
	return rep
}

// checkQuota runs the child in the group of procs and checks GOMAXPROCS.
func checkQuota(t *testing.T, procs string, quota string, want helperReport, env ...string) {
	t.Helper()
	got := runInCgroup(t, procs, env...)
	t.Logf("quota %s, env %q: runtime default GOMAXPROCS %d, after Apply %d", quota, env, got.RuntimeDefault, got.Procs)
	if want.RuntimeDefault == 0 {
		want.RuntimeDefault = got.RuntimeDefault // the runtime's choice is not under test
	}
	if got != want {
		t.Errorf("child reported %+v, want %+v", got, want)
	}
}

// TestRealCgroupV1CPU runs a child in a real cgroup v1 cpu group with a
// quota of 1.5 CPUs: Apply must round down to 1.
func TestRealCgroupV1CPU(t *testing.T) {
	var root string
	for _, dir := range []string{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"} {
		if _, err := os.Stat(filepath.Join(dir, "cpu.cfs_quota_us")); err == nil {
			root = dir
			break
		}
	}
	if root == "" {
		t.Skip("no cgroup v1 cpu controller here: no cpu.cfs_quota_us under /sys/fs/cgroup/cpu,cpuacct or /sys/fs/cgroup/cpu")
	}
	group := filepath.Join(root, "adx-test-"+strconv.Itoa(os.Getpid()))
	cgrouptest.MakeGroup(t, group, "cgroup v1 cpu controller")
	cgrouptest.WriteFile(t, filepath.Join(group, "cpu.cfs_period_us"), "100000")
	cgrouptest.WriteFile(t, filepath.Join(group, "cpu.cfs_quota_us"), "150000")
	procs := filepath.Join(group, "cgroup.procs")

	t.Run("quota 1.5", func(t *testing.T) {
		checkQuota(t, procs, "150000/100000", helperReport{Procs: 1})
	})
	t.Run("GOMAXPROCS wins", func(t *testing.T) {
		checkQuota(t, procs, "150000/100000", helperReport{RuntimeDefault: 2, Procs: 2}, "GOMAXPROCS=2")
	})
	t.Run("quota 2.5", func(t *testing.T) {
		cgrouptest.WriteFile(t, filepath.Join(group, "cpu.cfs_quota_us"), "250000")
		checkQuota(t, procs, "250000/100000", helperReport{Procs: min(2, runtime.NumCPU())})
	})
	// automaxprocs alone would say 64; Apply caps at the usable CPUs.
	t.Run("quota above the CPUs", func(t *testing.T) {
		cgrouptest.WriteFile(t, filepath.Join(group, "cpu.cfs_quota_us"), "6400000")
		checkQuota(t, procs, "6400000/100000", helperReport{Procs: min(64, runtime.NumCPU())})
	})
	t.Run("no quota", func(t *testing.T) {
		cgrouptest.WriteFile(t, filepath.Join(group, "cpu.cfs_quota_us"), "-1")
		checkQuota(t, procs, "-1", helperReport{RuntimeDefault: runtime.NumCPU(), Procs: runtime.NumCPU()})
	})
}

// TestRealCgroupV2CPU is TestRealCgroupV1CPU on a cgroup v2 host, best
// effort: it needs the cpu controller at the root of /sys/fs/cgroup.
func TestRealCgroupV2CPU(t *testing.T) {
	const root = "/sys/fs/cgroup"
	controllers, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		t.Skipf("no cgroup v2 hierarchy at %s: %s", root, err)
	}
	if !slices.Contains(strings.Fields(string(controllers)), "cpu") {
		t.Skipf("cgroup v2 at %s has no cpu controller (controllers: %q)", root, strings.TrimSpace(string(controllers)))
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu"), 0o644); err != nil {
		t.Skipf("cgroup v2 cpu controller not writable here: %s", err)
	}
	group := filepath.Join(root, "adx-test-"+strconv.Itoa(os.Getpid()))
	cgrouptest.MakeGroup(t, group, "cgroup v2")
	cgrouptest.WriteFile(t, filepath.Join(group, "cpu.max"), "150000 100000")
	checkQuota(t, filepath.Join(group, "cgroup.procs"), "150000 100000", helperReport{Procs: 1})
}
