package charttest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// TestLintStrict runs Helm's linter (as `helm lint --strict`: warnings fail)
// with the default values and each ci file.
func TestLintStrict(t *testing.T) {
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for name, vals := range valueCases(t) {
		t.Run(name, func(t *testing.T) {
			l := lint.AllWithKubeVersion(chartDir, vals, namespace, kv)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint (info): %s", m)
				}
			}
		})
	}
}

// TestRenderStrict renders each case and checks what an API server and
// ArgoCD would care about: allowed kinds, one Deployment, standard labels,
// valid names, and that every reference inside the release resolves.
func TestRenderStrict(t *testing.T) {
	for name, vals := range valueCases(t) {
		t.Run(name, func(t *testing.T) {
			m := render(t, vals)
			d := m.deployment(t)
			seen := map[string]bool{}
			for _, o := range m.objs {
				key := o.Kind + "/" + o.Name
				if seen[key] {
					t.Errorf("%s: duplicate %s", o.Source, key)
				}
				seen[key] = true
				for _, msg := range validation.IsDNS1123Subdomain(o.Name) {
					t.Errorf("%s: name %q: %s", o.Source, o.Name, msg)
				}
				if o.Meta.Namespace != "" {
					t.Errorf("%s: sets metadata.namespace; leave it to the release", o.Source)
				}
				checkLabels(t, o.Source, o.Meta.Labels)
				for k, v := range o.Meta.Annotations {
					if strings.Contains(v, "{{") && o.Kind != "v1/ConfigMap" {
						t.Errorf("%s: annotation %s holds an unrendered template: %q", o.Source, k, v)
					}
				}
			}
			checkLabels(t, "pod template", d.Spec.Template.Labels)
			checkDeployment(t, m, d)
			if !strings.Contains(m.notes, "somaxconn") || !strings.Contains(m.notes, "adx_tcp_listen_overflows_total") {
				t.Errorf("NOTES.txt must explain the somaxconn mode and the overflow metric:\n%s", m.notes)
			}
		})
	}
}

func checkLabels(t *testing.T, where string, l map[string]string) {
	t.Helper()
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
		if l[k] == "" {
			t.Errorf("%s: label %s missing", where, k)
		}
	}
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", where, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s=%q: %s", where, k, v, msg)
		}
	}
}

func checkDeployment(t *testing.T, m manifests, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		t.Fatalf("deployment selector: %v", err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("deployment selector does not match its pod template labels")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		volumes[v.Name] = v
	}
	all := append(append([]corev1.Container{}, ps.InitContainers...), ps.Containers...)
	names := map[string]bool{}
	for _, c := range all {
		if names[c.Name] {
			t.Errorf("container name %s used twice", c.Name)
		}
		names[c.Name] = true
		for _, vm := range c.VolumeMounts {
			if _, ok := volumes[vm.Name]; !ok {
				t.Errorf("container %s mounts volume %s, which the pod does not have", c.Name, vm.Name)
			}
		}
		for _, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				t.Errorf("container %s env %q: %s", c.Name, e.Name, msg)
			}
			if e.Value != "" && e.ValueFrom != nil {
				t.Errorf("container %s env %s has both value and valueFrom", c.Name, e.Name)
			}
			if strings.Contains(strings.ToUpper(e.Name), "LICENSE") && e.ValueFrom == nil {
				t.Errorf("container %s env %s must come from a Secret", c.Name, e.Name)
			}
		}
		if c.Image == "" || strings.HasSuffix(c.Image, ":") {
			t.Errorf("container %s has no image tag: %q", c.Name, c.Image)
		}
	}
	adx := adxContainer(t, d)
	ports := map[string]int32{}
	for _, p := range adx.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] == 0 || ports["admin"] == 0 {
		t.Fatalf("adx container ports must be named http and admin: %+v", adx.Ports)
	}
	if got, _ := flag(adx.Args, "admin.listen"); got != fmt.Sprintf(":%d", ports["admin"]) {
		t.Errorf("-admin.listen=%q, want :%d (the admin container port)", got, ports["admin"])
	}
	if got, _ := flag(adx.Args, "http.listen"); got != fmt.Sprintf(":%d", ports["http"]) {
		t.Errorf("-http.listen=%q, want :%d", got, ports["http"])
	}
	// The config volume points at the release's ConfigMap (or a Secret by name).
	if cm := volumes["config"].ConfigMap; cm != nil {
		found := false
		for _, o := range m.byKind("ConfigMap") {
			if o.Name == cm.Name && o.Obj.(*corev1.ConfigMap).Data["adx.yaml"] != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("config volume references ConfigMap %s with adx.yaml, which is not rendered", cm.Name)
		}
	} else if volumes["config"].Secret == nil {
		t.Errorf("no config volume")
	}
	if pvc := volumes["data"].PersistentVolumeClaim; pvc != nil && len(m.byKind("PersistentVolumeClaim")) == 1 {
		if m.byKind("PersistentVolumeClaim")[0].Name != pvc.ClaimName {
			t.Errorf("data volume claims %s, rendered PVC is %s", pvc.ClaimName, m.byKind("PersistentVolumeClaim")[0].Name)
		}
	}
	if ps.ServiceAccountName == "" {
		t.Errorf("no serviceAccountName")
	}
	if sas := m.byKind("ServiceAccount"); len(sas) == 1 && sas[0].Name != ps.ServiceAccountName {
		t.Errorf("pod uses ServiceAccount %s, chart renders %s", ps.ServiceAccountName, sas[0].Name)
	}
	// Services, PDB, ServiceMonitor select these pods, on ports that exist.
	podLabels := labels.Set(d.Spec.Template.Labels)
	services := map[string]*corev1.Service{}
	for _, o := range m.byKind("Service") {
		svc := o.Obj.(*corev1.Service)
		services[svc.Name] = svc
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) || len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s does not select the adx pods", svc.Name)
		}
		for _, p := range svc.Spec.Ports {
			if _, ok := ports[p.TargetPort.StrVal]; !ok {
				t.Errorf("Service %s port %s targets %q, not a named container port", svc.Name, p.Name, p.TargetPort.String())
			}
		}
	}
	for _, o := range m.byKind("PodDisruptionBudget") {
		pdb := o.Obj.(*policyv1.PodDisruptionBudget)
		if pdb.Spec.Selector == nil || !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(podLabels) {
			t.Errorf("PodDisruptionBudget %s does not select the adx pods", pdb.Name)
		}
	}
	for _, o := range m.byKind("ServiceMonitor") {
		sm := o.Obj.(*monitoringv1.ServiceMonitor)
		ok := false
		for _, svc := range services {
			if labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
				for _, p := range svc.Spec.Ports {
					if len(sm.Spec.Endpoints) > 0 && p.Name == sm.Spec.Endpoints[0].Port && p.TargetPort.StrVal == "admin" {
						ok = true
					}
				}
			}
		}
		if !ok {
			t.Errorf("ServiceMonitor %s selects no Service port on the admin port", sm.Name)
		}
	}
	for _, o := range m.byKind("PodMonitor") {
		pm := o.Obj.(*monitoringv1.PodMonitor)
		if !labels.SelectorFromSet(pm.Spec.Selector.MatchLabels).Matches(podLabels) || len(pm.Spec.Selector.MatchLabels) == 0 {
			t.Errorf("PodMonitor %s does not select the adx pods", pm.Name)
		}
		for _, e := range pm.Spec.PodMetricsEndpoints {
			port := ""
			if e.Port != nil {
				port = *e.Port
			}
			if port != "admin" {
				t.Errorf("PodMonitor %s scrapes port %q, want the admin container port", pm.Name, port)
			}
			if _, ok := ports["admin"]; !ok {
				t.Errorf("PodMonitor %s: the pod has no container port named admin", pm.Name)
			}
		}
		if len(pm.Spec.PodMetricsEndpoints) == 0 {
			t.Errorf("PodMonitor %s has no endpoint", pm.Name)
		}
	}
	for _, o := range m.byKind("HorizontalPodAutoscaler") {
		h := o.Obj.(*autoscalingv2.HorizontalPodAutoscaler)
		if h.Spec.ScaleTargetRef.Name != d.Name || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HPA targets %+v, want Deployment %s", h.Spec.ScaleTargetRef, d.Name)
		}
	}
	for _, o := range m.byKind("ScaledObject") {
		so := o.Obj.(*ScaledObject)
		if so.Spec.ScaleTargetRef.Name != d.Name || len(so.Spec.Triggers) == 0 {
			t.Errorf("ScaledObject targets %q with %d triggers", so.Spec.ScaleTargetRef.Name, len(so.Spec.Triggers))
		}
	}
	for _, o := range m.byKind("PrometheusRule") {
		pr := o.Obj.(*monitoringv1.PrometheusRule)
		found := false
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				if strings.Contains(r.Expr.String(), "adx_tcp_listen_overflows_total") && strings.Contains(r.Expr.String(), "increase(") {
					found = true
				}
				if strings.Contains(r.Expr.String(), "{{") {
					t.Errorf("rule %s: unrendered template in expr", r.Alert)
				}
			}
		}
		if !found {
			t.Errorf("PrometheusRule has no alert on adx_tcp_listen_overflows_total increasing")
		}
	}
	// Topology spread across zones.
	zone := false
	for _, c := range ps.TopologySpreadConstraints {
		if c.TopologyKey == "topology.kubernetes.io/zone" && c.LabelSelector != nil &&
			labels.SelectorFromSet(c.LabelSelector.MatchLabels).Matches(podLabels) {
			zone = true
		}
	}
	if !zone {
		t.Errorf("no topologySpreadConstraint across topology.kubernetes.io/zone selecting the pods")
	}
}

// Guaranteed QoS, the memory limit reaching the pod, and the Go soft limit.
func TestResourcesAndMemoryLimit(t *testing.T) {
	for name, vals := range valueCases(t) {
		t.Run(name, func(t *testing.T) {
			d := render(t, vals).deployment(t)
			ps := d.Spec.Template.Spec
			for _, c := range append(append([]corev1.Container{}, ps.InitContainers...), ps.Containers...) {
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
					if lim.IsZero() || req.Cmp(lim) != 0 {
						t.Errorf("container %s %s: requests %s != limits %s (pod would not be Guaranteed QoS)", c.Name, r, req.String(), lim.String())
					}
				}
			}
			adx := adxContainer(t, d)
			chartVals := effectiveValues(t, vals)
			want := resource.MustParse(chartVals["resources"].(map[string]any)["memory"].(string))
			if got := adx.Resources.Limits[corev1.ResourceMemory]; got.Cmp(want) != 0 {
				t.Errorf("adx memory limit %s, want %s from resources.memory", got.String(), want.String())
			}
			mem := chartVals["memory"].(map[string]any)
			if got, _ := flag(adx.Args, "memory.limitRatio"); got != fmt.Sprint(mem["limitRatio"]) {
				t.Errorf("-memory.limitRatio=%q, want %v", got, mem["limitRatio"])
			}
			gml := ""
			for _, e := range adx.Env {
				if e.Name == "GOMEMLIMIT" {
					gml = e.Value
				}
			}
			if gml != mem["goMemLimit"] {
				t.Errorf("GOMEMLIMIT env %q, want %q", gml, mem["goMemLimit"])
			}
		})
	}
	d := render(t, map[string]any{"resources": map[string]any{"cpu": "3", "memory": "6Gi"}, "memory": map[string]any{"goMemLimit": "5000MiB"}}).deployment(t)
	adx := adxContainer(t, d)
	if q := adx.Resources.Limits[corev1.ResourceMemory]; q.String() != "6Gi" {
		t.Errorf("memory limit %s, want 6Gi", q.String())
	}
	if len(adx.Env) != 1 || adx.Env[0].Name != "GOMEMLIMIT" || adx.Env[0].Value != "5000MiB" {
		t.Errorf("env %+v, want GOMEMLIMIT=5000MiB", adx.Env)
	}
}

// effectiveValues is the chart's values.yaml merged with vals.
func effectiveValues(t *testing.T, vals map[string]any) map[string]any {
	t.Helper()
	v, err := chartutil.CoalesceValues(loadChart(t), deepCopy(vals))
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

// Probes go to the admin port: startup and readiness on /readyz, liveness on /livez.
func TestProbesOnAdminPort(t *testing.T) {
	for name, vals := range valueCases(t) {
		t.Run(name, func(t *testing.T) {
			adx := adxContainer(t, render(t, vals).deployment(t))
			adminPort := ""
			for _, p := range adx.Ports {
				if p.Name == "admin" {
					adminPort = strconv.Itoa(int(p.ContainerPort))
				}
			}
			for probeName, c := range map[string]struct {
				p    *corev1.Probe
				path string
			}{"startup": {adx.StartupProbe, "/readyz"}, "readiness": {adx.ReadinessProbe, "/readyz"}, "liveness": {adx.LivenessProbe, "/livez"}} {
				if c.p == nil || c.p.HTTPGet == nil {
					t.Errorf("%sProbe missing or not httpGet", probeName)
					continue
				}
				if c.p.HTTPGet.Path != c.path {
					t.Errorf("%sProbe path %s, want %s", probeName, c.p.HTTPGet.Path, c.path)
				}
				if port := c.p.HTTPGet.Port.String(); port != "admin" && port != adminPort {
					t.Errorf("%sProbe on port %s, want the admin port", probeName, port)
				}
			}
			if l := adx.LivenessProbe; l != nil && l.PeriodSeconds*l.FailureThreshold < 30 {
				t.Errorf("livenessProbe gives up after %ds; want generous thresholds (>= 30s)", l.PeriodSeconds*l.FailureThreshold)
			}
			if s := adx.StartupProbe; s != nil && s.PeriodSeconds*s.FailureThreshold < 60 {
				t.Errorf("startupProbe allows only %ds for data loading", s.PeriodSeconds*s.FailureThreshold)
			}
		})
	}
	adx := adxContainer(t, render(t, map[string]any{"probes": map[string]any{"liveness": map[string]any{"enabled": false}}}).deployment(t))
	if adx.LivenessProbe != nil {
		t.Errorf("probes.liveness.enabled=false still renders a livenessProbe")
	}
	if adx.ReadinessProbe == nil || adx.StartupProbe == nil {
		t.Errorf("disabling liveness must keep startup and readiness")
	}
}

// The sysctl is present in each mode and absent in none; -http.backlog follows it.
func TestSysctlModes(t *testing.T) {
	for _, tc := range []struct {
		mode        string
		somaxconn   int
		wantBacklog string
	}{{"none", 16384, "0"}, {"pod", 16384, "16384"}, {"initContainer", 16384, "16384"}, {"pod", 32768, "32768"}} {
		t.Run(fmt.Sprintf("%s-%d", tc.mode, tc.somaxconn), func(t *testing.T) {
			d := render(t, map[string]any{"sysctls": map[string]any{"mode": tc.mode, "somaxconn": tc.somaxconn}}).deployment(t)
			ps := d.Spec.Template.Spec
			var podSysctl, initSysctl string
			if ps.SecurityContext != nil {
				for _, s := range ps.SecurityContext.Sysctls {
					if s.Name == "net.core.somaxconn" {
						podSysctl = s.Value
					}
				}
			}
			for _, c := range ps.InitContainers {
				cmd := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
				if strings.Contains(cmd, "net.core.somaxconn=") {
					initSysctl = cmd
					if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
						t.Errorf("sysctl init container is not privileged")
					}
				}
			}
			want := strconv.Itoa(tc.somaxconn)
			switch tc.mode {
			case "none":
				if podSysctl != "" || initSysctl != "" {
					t.Errorf("mode none renders a sysctl: pod=%q init=%q", podSysctl, initSysctl)
				}
			case "pod":
				if podSysctl != want || initSysctl != "" {
					t.Errorf("mode pod: pod sysctl %q (want %s), init %q (want none)", podSysctl, want, initSysctl)
				}
			case "initContainer":
				if podSysctl != "" || !strings.Contains(initSysctl, "net.core.somaxconn="+want) {
					t.Errorf("mode initContainer: pod sysctl %q (want none), init %q (want sysctl -w net.core.somaxconn=%s)", podSysctl, initSysctl, want)
				}
			}
			if got, _ := flag(adxContainer(t, d).Args, "http.backlog"); got != tc.wantBacklog {
				t.Errorf("-http.backlog=%q, want %s", got, tc.wantBacklog)
			}
		})
	}
	// The EKS production example turns pod mode on; the chart default is none.
	if d := render(t, ciValues(t, "eks-production")).deployment(t); d.Spec.Template.Spec.SecurityContext == nil || len(d.Spec.Template.Spec.SecurityContext.Sysctls) != 1 {
		t.Errorf("ci/eks-production-values.yaml must use sysctls.mode=pod")
	}
}

// Pod Security Admission: defaults pass restricted; each sysctl mode is
// reported with the lowest level that admits it.
func TestPodSecurityAdmission(t *testing.T) {
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := psaapi.ParseVersion("v1.34")
	if err != nil {
		t.Fatal(err)
	}
	lowest := func(d *appsv1.Deployment) (psaapi.Level, map[psaapi.Level][]string) {
		reasons := map[psaapi.Level][]string{}
		var ok psaapi.Level
		for _, lvl := range []psaapi.Level{psaapi.LevelPrivileged, psaapi.LevelBaseline, psaapi.LevelRestricted} {
			agg := policy.AggregateCheckResults(ev.EvaluatePod(psaapi.LevelVersion{Level: lvl, Version: ver}, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec))
			if agg.Allowed {
				ok = lvl
			} else {
				for i, r := range agg.ForbiddenReasons {
					reasons[lvl] = append(reasons[lvl], r+" ("+agg.ForbiddenDetails[i]+")")
				}
			}
		}
		return ok, reasons
	}
	for name, vals := range valueCases(t) {
		lvl, why := lowest(render(t, vals).deployment(t))
		t.Logf("PSA %-15s strictest level admitted: %-10s %v", name, lvl, why[psaapi.LevelRestricted])
		if (name == "default" || name == "minimal") && lvl != psaapi.LevelRestricted {
			t.Errorf("%s values must pass Pod Security restricted: %v", name, why[psaapi.LevelRestricted])
		}
	}
	for _, mode := range []string{"none", "pod", "initContainer"} {
		lvl, why := lowest(render(t, map[string]any{"sysctls": map[string]any{"mode": mode}}).deployment(t))
		t.Logf("PSA sysctls.mode=%-13s needs %-10s (baseline rejects: %v)", mode, lvl, why[psaapi.LevelBaseline])
		notePSA("mode-"+mode, string(lvl))
		want := map[string]psaapi.Level{"none": psaapi.LevelRestricted, "pod": psaapi.LevelPrivileged, "initContainer": psaapi.LevelPrivileged}[mode]
		if lvl != want {
			t.Errorf("sysctls.mode=%s: strictest admitted level %s, want %s", mode, lvl, want)
		}
	}
	// With geoipupdate and the fetcher on, the pod still passes restricted.
	lvl, why := lowest(render(t, map[string]any{
		"geoip":    map[string]any{"databases": map[string]any{"city": "GeoLite2-City"}, "update": map[string]any{"enabled": true, "existingSecret": "mm"}},
		"fetcher":  map[string]any{"enabled": true, "files": []any{map[string]any{"name": "d.db", "url": "https://x.example/d.db"}}},
		"devicedb": map[string]any{"file": "d.db"},
	}).deployment(t))
	if lvl != psaapi.LevelRestricted {
		t.Errorf("updaters must pass restricted: %v", why[psaapi.LevelRestricted])
	}
}

// No container runs as root, except the privileged sysctl init container of
// mode initContainer, which must.
func TestNoContainerRunsAsRoot(t *testing.T) {
	cases := valueCases(t)
	cases["mode-initContainer"] = map[string]any{"sysctls": map[string]any{"mode": "initContainer"}}
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			ps := render(t, vals).deployment(t).Spec.Template.Spec
			pod := ps.SecurityContext
			if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser == 0 {
				t.Fatalf("pod securityContext must set runAsNonRoot and a non-zero runAsUser: %+v", pod)
			}
			if pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod seccompProfile must be RuntimeDefault")
			}
			for _, c := range append(append([]corev1.Container{}, ps.InitContainers...), ps.Containers...) {
				sc := c.SecurityContext
				if c.Name == "sysctl" {
					if _, ok := vals["sysctls"]; !ok && name != "full" {
						t.Errorf("sysctl init container rendered without sysctls.mode=initContainer")
					}
					continue
				}
				uid := *pod.RunAsUser
				if sc != nil && sc.RunAsUser != nil {
					uid = *sc.RunAsUser
				}
				if uid == 0 || (sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot) {
					t.Errorf("container %s runs as root", c.Name)
				}
				if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("container %s: readOnlyRootFilesystem must be true", c.Name)
				}
				if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("container %s: allowPrivilegeEscalation must be false", c.Name)
				}
				if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
					t.Errorf("container %s must drop ALL capabilities and add none", c.Name)
				}
			}
		})
	}
}

// checksum/config, with restartOnConfigChange, changes with the config and
// only with it; without it (the default: adx reloads its config) the pods
// carry none, so a config change does not roll them.
func TestChecksumFollowsConfig(t *testing.T) {
	if got, ok := render(t, map[string]any{}).deployment(t).Spec.Template.Annotations["checksum/config"]; ok {
		t.Errorf("checksum/config = %q by default, want none: adx reloads its config without a roll", got)
	}
	// By default only what adx cannot reload rolls the pods.
	restart := func(y string) string {
		return render(t, with(t, map[string]any{}, y)).deployment(t).Spec.Template.Annotations["checksum/config-restart"]
	}
	if base := restart(""); len(base) != 64 ||
		restart("config: {demand: [{name: house2, type: house}], auction: {default_tmax: 150ms}}") != base ||
		restart("config: {http: {max_inflight: 7}}") == base || restart("config: {auction: {currency: EUR}}") == base {
		t.Errorf("checksum/config-restart must change with the settings that need a restart, and only with them")
	}
	sum := func(vals map[string]any) string {
		vals = with(t, vals, "restartOnConfigChange: true")
		return render(t, vals).deployment(t).Spec.Template.Annotations["checksum/config"]
	}
	base := sum(map[string]any{})
	if len(base) != 64 {
		t.Fatalf("checksum/config = %q, want a sha256", base)
	}
	if again := sum(map[string]any{}); again != base {
		t.Errorf("checksum is not stable across renders: %s vs %s", base, again)
	}
	if other := sum(map[string]any{"replicaCount": 7, "logLevel": "debug"}); other != base {
		t.Errorf("checksum changed without a config change")
	}
	for _, override := range []string{
		"config: {auction: {default_tmax: 150ms}}",
		"config: {demand: [{name: house2, type: house}]}",
		"geoip: {databases: {city: GeoLite2-City}}",
		"devicedb: {file: devices.db}",
		"currency: {file: eurofxref-daily.xml}",
		"data: {mountPath: /srv/data}\ngeoip: {databases: {city: GeoLite2-City}}",
		"configSecret: {name: adx-config}",
	} {
		if got := sum(with(t, map[string]any{}, override)); got == base {
			t.Errorf("checksum did not change for %s", override)
		}
	}
	if sum(with(t, map[string]any{}, "geoip: {databases: {city: GeoLite2-City}}")) == sum(with(t, map[string]any{}, "geoip: {databases: {city: GeoLite2-City}}\ndata: {mountPath: /srv/data}")) {
		t.Errorf("moving the data volume must change the config (geo paths) and the checksum")
	}
	a := sum(with(t, map[string]any{}, "configSecret: {name: adx-config, revision: '1'}"))
	b := sum(with(t, map[string]any{}, "configSecret: {name: adx-config, revision: '2'}"))
	if a == b {
		t.Errorf("bumping configSecret.revision must change the checksum")
	}
	// The rendered ConfigMap holds exactly what was hashed: no secrets, paths on the data volume.
	m := render(t, with(t, map[string]any{}, "geoip: {databases: {city: GeoIP2-City}}\ndevicedb: {file: devices.db}\ncurrency: {file: eurofxref-daily.xml}\ndata: {mountPath: /srv/data}"))
	cfg := m.byKind("ConfigMap")[0].Obj.(*corev1.ConfigMap).Data["adx.yaml"]
	for _, want := range []string{"city: /srv/data/GeoIP2-City.mmdb", "file: /srv/data/devices.db", "reload_interval: 10s", "file: /srv/data/eurofxref-daily.xml", "max_age: 144h"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("ConfigMap adx.yaml lacks %q:\n%s", want, cfg)
		}
	}
}

// HPA and KEDA are mutually exclusive, and no replicas field is set while
// an autoscaler is on.
func TestAutoscalers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		hpa, keda    bool
		wantReplicas bool
	}{{"hpa", true, false, false}, {"keda", false, true, false}, {"none", false, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			m := render(t, map[string]any{"replicaCount": 5, "autoscaling": map[string]any{
				"hpa": map[string]any{"enabled": tc.hpa}, "keda": map[string]any{"enabled": tc.keda}}})
			d := m.deployment(t)
			if nh, nk := len(m.byKind("HorizontalPodAutoscaler")), len(m.byKind("ScaledObject")); nh != b2i(tc.hpa) || nk != b2i(tc.keda) {
				t.Errorf("rendered %d HPA and %d ScaledObject, want %d and %d", nh, nk, b2i(tc.hpa), b2i(tc.keda))
			}
			if (d.Spec.Replicas != nil) != tc.wantReplicas {
				t.Errorf("replicas set = %v, want %v", d.Spec.Replicas != nil, tc.wantReplicas)
			}
			if tc.wantReplicas && *d.Spec.Replicas != 5 {
				t.Errorf("replicas %d, want replicaCount 5", *d.Spec.Replicas)
			}
		})
	}
	// Every ci file and the defaults too.
	for name, vals := range valueCases(t) {
		m := render(t, vals)
		auto := len(m.byKind("HorizontalPodAutoscaler")) + len(m.byKind("ScaledObject"))
		if auto > 1 {
			t.Errorf("%s: both HPA and ScaledObject rendered", name)
		}
		if auto == 1 && m.deployment(t).Spec.Replicas != nil {
			t.Errorf("%s: replicas set while an autoscaler is on", name)
		}
	}
	if len(render(t, ciValues(t, "full")).byKind("ScaledObject")) != 1 {
		t.Errorf("ci/full-values.yaml must use KEDA")
	}
	_, err := renderRaw(t, map[string]any{"autoscaling": map[string]any{"hpa": map[string]any{"enabled": true}, "keda": map[string]any{"enabled": true}}})
	if err == nil {
		t.Errorf("hpa and keda both enabled must fail")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Draining: native preStop sleep, and a grace period that covers sleep + drain + timeout.
func TestDrain(t *testing.T) {
	for name, vals := range valueCases(t) {
		t.Run(name, func(t *testing.T) {
			d := render(t, vals).deployment(t)
			adx := adxContainer(t, d)
			if adx.Lifecycle == nil || adx.Lifecycle.PreStop == nil || adx.Lifecycle.PreStop.Sleep == nil || adx.Lifecycle.PreStop.Exec != nil {
				t.Fatalf("preStop must be the native sleep action: %+v", adx.Lifecycle)
			}
			sleep := adx.Lifecycle.PreStop.Sleep.Seconds
			drain := seconds(t, adx.Args, "shutdown.drainDelay")
			timeout := seconds(t, adx.Args, "shutdown.timeout")
			grace := *d.Spec.Template.Spec.TerminationGracePeriodSeconds
			if grace < sleep+drain+timeout+1 {
				t.Errorf("terminationGracePeriodSeconds %d < preStop %d + drainDelay %d + timeout %d + margin", grace, sleep, drain, timeout)
			}
		})
	}
	if _, err := renderRaw(t, map[string]any{"shutdown": map[string]any{"terminationGracePeriodSeconds": 10}}); err == nil || !strings.Contains(err.Error(), "terminationGracePeriodSeconds") {
		t.Errorf("a grace period below sleep+drain+timeout must fail rendering, got %v", err)
	}
}

func seconds(t *testing.T, args []string, name string) int64 {
	t.Helper()
	v, ok := flag(args, name)
	if !ok || !strings.HasSuffix(v, "s") {
		t.Fatalf("-%s=%q missing or not in seconds", name, v)
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(v, "s"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// values.schema.json rejects bad values, nested typos and unknown keys included.
func TestSchemaRejectsBadValues(t *testing.T) {
	c := loadChart(t)
	bad := map[string]string{
		"unknown top-level key":       "replicaCount: 2\nreplicas: 3",
		"typo in nested key":          "probes: {liveness: {enabeld: false}}",
		"typo deep in config":         "config: {auction: {defualt_tmax: 200ms}}",
		"typo in a demand partner":    "config: {demand: [{name: a, type: openrtb, endpiont: 'http://x'}]}",
		"secret inlined (token)":      "config: {supply: [{name: a, token: s3cret}]}",
		"secret inlined (headers)":    "config: {demand: [{name: a, type: openrtb, endpoint: 'http://x', headers: {Authorization: x}}]}",
		"typo in demand targeting":    "config: {demand: [{name: a, type: openrtb, endpoint: 'http://x', targeting: {countrys: [USA]}}]}",
		"secret inlined (price keys)": "config: {demand: [{name: a, type: openrtb, endpoint: 'http://x', price_encryption: {ekey: x}}]}",
		"supply seller type":          "config: {supply: [{name: a, seller_type: RESELLER}]}",
		"sysctl mode":                 "sysctls: {mode: always}",
		"somaxconn too small":         "sysctls: {mode: pod, somaxconn: 10}",
		"somaxconn as string":         "sysctls: {mode: pod, somaxconn: '16384'}",
		"replicaCount as string":      "replicaCount: 'three'",
		"negative replicas":           "replicaCount: -1",
		"bad memory quantity":         "resources: {cpu: 1, memory: 2GB}",
		"missing memory":              "resources: {cpu: 1, memory: null}",
		"limitRatio above 1":          "memory: {limitRatio: 1.5}",
		"bad GOMEMLIMIT":              "memory: {goMemLimit: 2Gi}",
		"bare-number duration":        "config: {auction: {default_tmax: 200}}",
		"bad log level":               "logLevel: verbose",
		"port out of range":           "ports: {http: 70000}",
		"hpa and keda together":       "autoscaling: {hpa: {enabled: true}, keda: {enabled: true}}",
		"data type":                   "data: {type: hostPath}",
		"service type":                "service: {type: ExternalName}",
		"nlb scheme":                  "service: {awsNlb: {enabled: true, scheme: public}}",
		"typo under geoip.update":     "geoip: {update: {enabled: true, exisitngSecret: x}}",
		"bad edition id":              "geoip: {databases: {city: 'GeoIP2 City'}}",
		"fetcher file without url":    "fetcher: {enabled: true, files: [{name: a.db}]}",
		"fetcher file with both":      "fetcher: {enabled: true, files: [{name: a.db, url: 'https://x', urlSecret: {name: s, key: k}}]}",
		"fetcher path traversal":      "fetcher: {files: [{name: ../etc/passwd, url: 'https://x'}]}",
		"preStop sleep zero":          "shutdown: {preStopSleepSeconds: 0}",
		"liveness too eager":          "probes: {liveness: {failureThreshold: 1}}",
		"typo in serviceMonitor":      "serviceMonitor: {enabled: true, intervall: 10s}",
		"typo in podMonitor":          "podMonitor: {enabled: true, scrapeTimout: 10s}",
		"shed status":                 "config: {http: {shed_status: 500}}",
		"shed memory ratio":           "config: {http: {shed_memory_ratio: 1.5}}",
		"listen set in config":        "config: {http: {listen: ':80'}}",
		"image digest":                "image: {digest: latest}",
		"pdb value type":              "podDisruptionBudget: {maxUnavailable: one}",
		"topology whenUnsatisfiable":  "topologySpread: {whenUnsatisfiable: Never}",
	}
	schemaRejects(t, c, bad)
	// Cross-value rules the templates enforce with fail.
	for name, y := range map[string]string{
		"geoipupdate without secret":    "geoip: {databases: {city: GeoLite2-City}, update: {enabled: true}}",
		"geoipupdate without databases": "geoip: {update: {enabled: true, existingSecret: mm}}",
		"fetcher without files":         "fetcher: {enabled: true}",
		"hpa min above max":             "autoscaling: {hpa: {minReplicas: 10, maxReplicas: 5}}",
		"servicemonitor without svc":    "serviceMonitor: {enabled: true}\nservice: {metrics: {enabled: false}}",
		"pod and service monitors":      "serviceMonitor: {enabled: true}\npodMonitor: {enabled: true}",
	} {
		if _, err := renderRaw(t, with(t, map[string]any{}, y)); err == nil {
			t.Errorf("rendering must fail (%s): %s", name, y)
		} else {
			noteRejected()
		}
	}
	// And the good files pass the schema.
	for name, vals := range valueCases(t) {
		cv, err := chartutil.CoalesceValues(c, deepCopy(vals))
		if err != nil {
			t.Fatal(err)
		}
		if err := chartutil.ValidateAgainstSchema(c, cv); err != nil {
			t.Errorf("%s: schema rejects good values: %v", name, err)
		}
	}
}

// schemaRejects checks that values.schema.json refuses each of bad's
// values (name → YAML), in name order.
func schemaRejects(t *testing.T, c *chart.Chart, bad map[string]string) {
	t.Helper()
	names := make([]string, 0, len(bad))
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		vals, err := chartutil.ReadValues([]byte(bad[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cv, err := chartutil.CoalesceValues(c, vals.AsMap())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := chartutil.ValidateAgainstSchema(c, cv); err == nil {
			t.Errorf("schema accepts bad values (%s): %s", name, bad[name])
		} else {
			noteRejected()
		}
	}
}
