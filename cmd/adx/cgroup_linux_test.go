package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memoryCgroupV1Mount finds where the cgroup v1 memory controller is
// mounted, from /proc/mounts.
func memoryCgroupV1Mount() (string, error) {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 4 && fields[2] == "cgroup" {
			for _, opt := range strings.Split(fields[3], ",") {
				if opt == "memory" {
					return fields[1], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no cgroup v1 memory controller in /proc/mounts")
}

// TestMemoryLimitFromRealCgroup starts adx inside a cgroup v1 child group
// with a 256 MiB limit and reads the limits it set from /metrics: the
// process must find its own group, not the mount root (which says
// unlimited).
func TestMemoryLimitFromRealCgroup(t *testing.T) {
	mount, err := memoryCgroupV1Mount()
	if err != nil {
		t.Skipf("cgroup v1 memory controller not available here, so the real-cgroup memory limit test is skipped: %v", err)
	}
	group := filepath.Join(mount, fmt.Sprintf("adx-cmd-test-%d", os.Getpid()))
	if err := os.Mkdir(group, 0o755); err != nil {
		t.Skipf("cgroup v1 memory controller not writable here, so the real-cgroup memory limit test is skipped: %v", err)
	}
	defer func() {
		// The group can be removed only once adx has left it.
		for range 50 {
			if os.Remove(group) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("cannot remove %s", group)
	}()
	const limit = 256 << 20
	if err := os.WriteFile(filepath.Join(group, "memory.limit_in_bytes"), []byte(strconv.Itoa(limit)), 0o644); err != nil {
		t.Skipf("cannot set a cgroup v1 memory limit here, so the test is skipped: %v", err)
	}

	for _, tc := range []struct {
		name          string
		env           []string
		wantGoLimit   float64
		wantCgroupLim float64
	}{
		{"ratio of the cgroup limit", nil, 0.9 * limit, limit},
		{"GOMEMLIMIT wins", []string{"GOMEMLIMIT=100MiB"}, 100 << 20, limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// sh puts itself into the group, then execs adx there.
			script := `echo $$ > "$0/cgroup.procs" && exec "$@"`
			args := []string{"-c", script, group, adxBinary, "-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0", "-shutdown.drainDelay", "0s"}
			cmd, _, admin := startAdxCommand(t, "sh", tc.env, args...)
			defer cmd.Process.Kill()

			own, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
			if !strings.Contains(string(own), filepath.Base(group)) {
				t.Fatalf("adx is not in %s: /proc/%d/cgroup says\n%s", group, cmd.Process.Pid, own)
			}
			m := scrape(t, admin)
			if got := m["adx_memory_limit_bytes"]; got != float64(int64(tc.wantGoLimit)) {
				t.Errorf("adx_memory_limit_bytes = %.0f, want %.0f", got, tc.wantGoLimit)
			}
			if got := m["adx_cgroup_memory_limit_bytes"]; got != tc.wantCgroupLim {
				t.Errorf("adx_cgroup_memory_limit_bytes = %.0f, want %.0f", got, tc.wantCgroupLim)
			}
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
}

// scrape reads the admin /metrics page into name -> value, for series
// without labels.
func scrape(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m
}
