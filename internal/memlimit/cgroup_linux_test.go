//go:build linux

package memlimit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/adx-exchange/adx/internal/cgrouptest"
)

// The tests in this file run Apply in a child process (this test binary
// re-executed), because a process's cgroup, its /proc/self files and its
// Go memory limit are all per process.
const (
	// helperEnv selects the child's mode: "apply", "fixture", or "probe"
	// (only mount the fixture).
	helperEnv = "ADX_MEMLIMIT_TEST_HELPER"
	// fixtureEnv is the fixture directory for the "fixture" mode.
	fixtureEnv = "ADX_MEMLIMIT_TEST_FIXTURE"
)

// helperReport is what the child prints on stdout as JSON.
type helperReport struct {
	Result      Result
	ApplyErr    string
	CgroupLimit uint64
	CgroupErr   string
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper is the child's main. It logs Apply's line as JSON on stderr.
func runHelper(mode string) int {
	if mode == "fixture" || mode == "probe" {
		if err := mountFixture(os.Getenv(fixtureEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if mode == "probe" {
			return 0
		}
	}
	var rep helperReport
	res, err := Apply(context.Background(), Options{Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	rep.Result = res
	if err != nil {
		rep.ApplyErr = err.Error()
	}
	if rep.CgroupLimit, err = CgroupLimit(); err != nil {
		rep.CgroupErr = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// mountFixture makes this process see the fixture in dir as its cgroup
// world: dir/sys-fs-cgroup on /sys/fs/cgroup, dir/mountinfo on
// /proc/self/mountinfo and dir/cgroup on /proc/self/cgroup. The process
// must run in its own mount namespace (CLONE_NEWNS, which Go's
// exec makes private), so nothing leaks to the host.
func mountFixture(dir string) error {
	for _, m := range [][2]string{
		{"sys-fs-cgroup", "/sys/fs/cgroup"},
		{"mountinfo", "/proc/self/mountinfo"},
		{"cgroup", "/proc/self/cgroup"},
	} {
		src := filepath.Join(dir, m[0])
		if err := syscall.Mount(src, m[1], "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("cannot bind-mount %q on %q: %w", src, m[1], err)
		}
	}
	return nil
}

// helperCmd returns a command running this test binary in mode, with
// GOMEMLIMIT and AUTOMEMLIMIT removed from the environment and extraEnv
// added.
func helperCmd(t *testing.T, mode string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	return cgrouptest.Command(t, []string{"GOMEMLIMIT", "AUTOMEMLIMIT"}, append([]string{helperEnv + "=" + mode}, extraEnv...)...)
}

// runChild runs cmd and decodes its report.
func runChild(t *testing.T, cmd *exec.Cmd) helperReport {
	t.Helper()
	var rep helperReport
	cgrouptest.Run(t, cmd, &rep)
	return rep
}

// checkChild runs the helper in the cgroup of procs and checks its report.
func checkChild(t *testing.T, procs string, env []string, want helperReport) {
	t.Helper()
	cmd := helperCmd(t, "apply", env...)
	cgrouptest.InGroup(t, cmd, procs)
	got := runChild(t, cmd)
	if got != want {
		t.Errorf("child in %s with env %q reported\n%+v, want\n%+v", filepath.Dir(procs), env, got, want)
	}
	t.Logf("child in %s: source %q, cgroup limit %d, Go limit %d", filepath.Dir(procs), got.Result.Source, got.CgroupLimit, got.Result.GoLimit)
}

// TestRealCgroupV1 puts a child process into a real cgroup v1 memory group
// with a 256 MiB limit, below a root group that says "unlimited", as
// Kubernetes does on v1 nodes.
func TestRealCgroupV1(t *testing.T) {
	const root = "/sys/fs/cgroup/memory"
	if _, err := os.Stat(filepath.Join(root, "memory.limit_in_bytes")); err != nil {
		t.Skipf("no cgroup v1 memory controller here: %s", err)
	}
	group := filepath.Join(root, "adx-test-"+strconv.Itoa(os.Getpid()))
	cgrouptest.MakeGroup(t, group, "cgroup v1 memory controller")
	cgrouptest.WriteFile(t, filepath.Join(group, "memory.limit_in_bytes"), strconv.Itoa(256*mib))
	// inner has no limit of its own: the limit is its parent's, which
	// v1 reports as hierarchical_memory_limit in inner/memory.stat.
	inner := filepath.Join(group, "inner")
	cgrouptest.MakeGroup(t, inner, "cgroup v1 memory controller")

	limited := helperReport{
		Result:      Result{Source: SourceCgroup, CgroupLimit: 256 * mib, Ratio: 0.9, GoLimit: 241591910},
		CgroupLimit: 256 * mib,
	}
	t.Run("limit", func(t *testing.T) {
		checkChild(t, filepath.Join(group, "cgroup.procs"), nil, limited)
	})
	t.Run("parent limit", func(t *testing.T) {
		checkChild(t, filepath.Join(inner, "cgroup.procs"), nil, limited)
	})
	t.Run("GOMEMLIMIT wins", func(t *testing.T) {
		checkChild(t, filepath.Join(group, "cgroup.procs"), []string{"GOMEMLIMIT=100MiB"}, helperReport{
			Result:      Result{Source: SourceEnv, CgroupLimit: 256 * mib, GoLimit: 100 * mib},
			CgroupLimit: 256 * mib,
		})
	})
	t.Run("unlimited", func(t *testing.T) {
		cgrouptest.WriteFile(t, filepath.Join(group, "memory.limit_in_bytes"), "-1")
		checkChild(t, filepath.Join(group, "cgroup.procs"), nil, helperReport{
			Result: Result{Source: SourceNone, Ratio: 0.9, GoLimit: math.MaxInt64},
		})
	})
}

// TestRealCgroupV2 is TestRealCgroupV1 on a cgroup v2 host, best effort:
// it needs the memory controller at the root of /sys/fs/cgroup.
func TestRealCgroupV2(t *testing.T) {
	const root = "/sys/fs/cgroup"
	controllers, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		t.Skipf("no cgroup v2 hierarchy at %s: %s", root, err)
	}
	if !slices.Contains(strings.Fields(string(controllers)), "memory") {
		t.Skipf("cgroup v2 at %s has no memory controller (controllers: %q)", root, strings.TrimSpace(string(controllers)))
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+memory"), 0o644); err != nil {
		t.Skipf("cgroup v2 memory controller not writable here: %s", err)
	}
	group := filepath.Join(root, "adx-test-"+strconv.Itoa(os.Getpid()))
	cgrouptest.MakeGroup(t, group, "cgroup v2")
	cgrouptest.WriteFile(t, filepath.Join(group, "memory.max"), strconv.Itoa(256*mib))
	if err := os.WriteFile(filepath.Join(group, "cgroup.subtree_control"), []byte("+memory"), 0o644); err != nil {
		t.Skipf("cgroup v2 memory controller not writable here: %s", err)
	}
	inner := filepath.Join(group, "inner") // memory.max "max"; the parent's limit counts
	cgrouptest.MakeGroup(t, inner, "cgroup v2")

	limited := helperReport{
		Result:      Result{Source: SourceCgroup, CgroupLimit: 256 * mib, Ratio: 0.9, GoLimit: 241591910},
		CgroupLimit: 256 * mib,
	}
	t.Run("limit", func(t *testing.T) {
		checkChild(t, filepath.Join(group, "cgroup.procs"), nil, limited)
	})
	t.Run("parent limit", func(t *testing.T) {
		checkChild(t, filepath.Join(inner, "cgroup.procs"), nil, limited)
	})
	t.Run("GOMEMLIMIT wins", func(t *testing.T) {
		checkChild(t, filepath.Join(group, "cgroup.procs"), []string{"GOMEMLIMIT=100MiB"}, helperReport{
			Result:      Result{Source: SourceEnv, CgroupLimit: 256 * mib, GoLimit: 100 * mib},
			CgroupLimit: 256 * mib,
		})
	})
}

// TestFixtures runs the production path (Apply and CgroupLimit, hence
// automemlimit's FromCgroup, which only reads the real /proc/self files)
// against the layouts under testdata/cgroups, by bind-mounting each one
// over /sys/fs/cgroup and /proc/self/{mountinfo,cgroup} in a child with a
// private mount namespace. It needs root (CAP_SYS_ADMIN).
func TestFixtures(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroup fixtures need root: they are bind-mounted in a private mount namespace")
	}
	fixtureCmd := func(fixture, mode string) *exec.Cmd {
		t.Helper()
		dir, err := filepath.Abs(filepath.Join("testdata", "cgroups", fixture))
		if err != nil {
			t.Fatal(err)
		}
		cmd := helperCmd(t, mode, fixtureEnv+"="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		return cmd
	}
	if out, err := fixtureCmd("v1-child-limit", "probe").CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount cgroup fixtures in a private mount namespace here: %s %s", err, bytes.TrimSpace(out))
	}
	// want is the cgroup limit in bytes, 0 for none; wantErr a substring of
	// the error of both Apply and CgroupLimit.
	f := func(fixture string, want uint64, wantErr string) {
		t.Helper()
		t.Run(fixture, func(t *testing.T) {
			cmd := fixtureCmd(fixture, "fixture")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("child failed: %s: %s", err, stderr.String())
			}
			t.Logf("child log: %s", strings.TrimSpace(stderr.String()))
			var got helperReport
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("cannot decode the child's report %q: %s", stdout.String(), err)
			}

			if wantErr != "" {
				if !strings.Contains(got.ApplyErr, wantErr) || !strings.Contains(got.CgroupErr, wantErr) {
					t.Fatalf("Apply error %q and CgroupLimit error %q, want both to contain %q", got.ApplyErr, got.CgroupErr, wantErr)
				}
				return
			}
			wantRes := Result{Source: SourceNone, Ratio: 0.9, GoLimit: math.MaxInt64}
			if want != 0 {
				wantRes = Result{Source: SourceCgroup, CgroupLimit: want, Ratio: 0.9, GoLimit: int64(float64(want) * 0.9)}
			}
			if wantRep := (helperReport{Result: wantRes, CgroupLimit: want}); got != wantRep {
				t.Errorf("got %+v, want %+v", got, wantRep)
			}
		})
	}
	// cgroup v1, Kubernetes node: the root group is unlimited, the
	// container's group is limited.
	f("v1-child-limit", 256*mib, "")
	// The container's group says unlimited; its pod group's limit shows in
	// hierarchical_memory_limit.
	f("v1-parent-limit", 512*mib, "")
	f("v1-unlimited", 0, "")
	// 1<<62 is not the kernel's sentinel; our guard makes it "none".
	f("v1-huge", 0, "")
	// Docker on v1 without a cgroup namespace: the mount's root is the
	// container's group, so its files sit at the mount point.
	f("v1-container-root", 256*mib, "")
	// Like this repository's CI machine: v1 memory controller, cgroup2
	// mounted at /sys/fs/cgroup/unified without it. v1 is used.
	f("hybrid-v1-memory", 256*mib, "")
	// cgroup v2, Kubernetes node: the smallest memory.max up the tree.
	f("v2-child-limit", 256*mib, "")
	f("v2-parent-limit", 512*mib, "")
	// Leaf and pod say max, kubepods.slice (node allocatable) does not.
	f("v2-node-allocatable", 15*1024*mib, "")
	f("v2-max", 0, "")
	f("v2-huge", 0, "")
	// Docker's default on v2: a cgroup namespace, the group seen as /.
	f("v2-cgroupns", 256*mib, "")
	f("v2-unparsable", 0, `cannot read the cgroup memory limit: failed to parse memory.max value: strconv.ParseUint: parsing "256M": invalid syntax`)
}
