package charttest

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// summary collects what the run checked, for one line the lead can paste.
var summary = struct {
	sync.Mutex
	decoded  int
	kinds    map[string]bool
	rejected int
	psa      map[string]string
	cases    map[string]bool
}{kinds: map[string]bool{}, psa: map[string]string{}, cases: map[string]bool{}}

func noteDecoded(kind string) {
	summary.Lock()
	defer summary.Unlock()
	summary.decoded++
	summary.kinds[kind[strings.LastIndex(kind, "/")+1:]] = true
}

func notePSA(what, level string) {
	summary.Lock()
	defer summary.Unlock()
	summary.psa[what] = level
}

func noteRejected() {
	summary.Lock()
	defer summary.Unlock()
	summary.rejected++
}

func noteCase(name string) {
	summary.Lock()
	defer summary.Unlock()
	summary.cases[name] = true
}

func TestMain(m *testing.M) {
	start := time.Now()
	code := m.Run()
	keys := func(m map[string]bool) string {
		var s []string
		for k := range m {
			s = append(s, k)
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	status := "PASS"
	if code != 0 {
		status = "FAIL"
	}
	if summary.decoded > 0 {
		fmt.Printf("adx chart checks %s in %.1fs: values [%s] linted --strict and rendered for k8s %s; %d manifests strictly decoded (%s); %d bad values files rejected; PSA default=%s, sysctl pod=%s, initContainer=%s\n",
			status, time.Since(start).Seconds(), keys(summary.cases), kubeVersion, summary.decoded, keys(summary.kinds), summary.rejected,
			summary.psa["mode-none"], summary.psa["mode-pod"], summary.psa["mode-initContainer"])
	}
	os.Exit(code)
}
