// Package charttest validates the adx Helm chart offline with the Helm Go SDK:
// schema, strict lint, rendering, strict typed decoding of every manifest,
// Pod Security Admission, and the chart's production invariants.
package charttest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = "../adx"
	releaseName = "prod"
	namespace   = "adx"
	kubeVersion = "v1.34.0"
)

// ScaledObject mirrors the fields of keda.sh/v1alpha1 ScaledObject the chart
// uses (KEDA's Go module is not among the pinned dependencies). Decoding is
// strict, so a field KEDA does not have, or a wrong type, fails the test.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

type ScaledObjectSpec struct {
	ScaleTargetRef   ScaleTarget   `json:"scaleTargetRef"`
	PollingInterval  *int32        `json:"pollingInterval,omitempty"`
	CooldownPeriod   *int32        `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount *int32        `json:"idleReplicaCount,omitempty"`
	MinReplicaCount  *int32        `json:"minReplicaCount,omitempty"`
	MaxReplicaCount  *int32        `json:"maxReplicaCount,omitempty"`
	Triggers         []KedaTrigger `json:"triggers"`
}

type ScaleTarget struct {
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	Name                   string `json:"name"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

type KedaTrigger struct {
	Type              string            `json:"type"`
	Name              string            `json:"name,omitempty"`
	UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
		Kind string `json:"kind,omitempty"`
	} `json:"authenticationRef,omitempty"`
	MetricType string `json:"metricType,omitempty"`
}

// allowedKinds are the only kinds the chart may render, with their typed objects.
var allowedKinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return &ScaledObject{} },
}

// object is one rendered manifest, decoded strictly.
type object struct {
	Source string // template file
	Kind   string // apiVersion/kind
	Name   string
	Obj    any
	Meta   *metav1.ObjectMeta
}

// manifests is everything one set of values renders.
type manifests struct {
	objs  []object
	notes string
}

func (m manifests) byKind(kind string) []object {
	var out []object
	for _, o := range m.objs {
		if o.Kind == kind || strings.HasSuffix(o.Kind, "/"+kind) {
			out = append(out, o)
		}
	}
	return out
}

func (m manifests) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	ds := m.byKind("Deployment")
	if len(ds) != 1 {
		t.Fatalf("rendered %d Deployments, want exactly 1", len(ds))
	}
	return ds[0].Obj.(*appsv1.Deployment)
}

var loadedChart *chart.Chart

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	if loadedChart == nil {
		c, err := loader.Load(chartDir)
		if err != nil {
			t.Fatalf("load chart: %v", err)
		}
		loadedChart = c
	}
	return loadedChart
}

// valueCases are the default values and every ci/*-values.yaml file.
func valueCases(t *testing.T) map[string]map[string]any {
	t.Helper()
	cases := map[string]map[string]any{"default": {}}
	noteCase("default")
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least 3 ci/*-values.yaml files, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases[strings.TrimSuffix(filepath.Base(f), "-values.yaml")] = v.AsMap()
		noteCase(strings.TrimSuffix(filepath.Base(f), "-values.yaml"))
	}
	for _, want := range []string{"minimal", "full", "eks-production"} {
		if _, ok := cases[want]; !ok {
			t.Fatalf("missing ci/%s-values.yaml", want)
		}
	}
	return cases
}

func ciValues(t *testing.T, name string) map[string]any {
	t.Helper()
	if name == "default" {
		return map[string]any{}
	}
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "ci", name+"-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

// with returns base deep-merged with overrides given as YAML.
func with(t *testing.T, base map[string]any, overrideYAML string) map[string]any {
	t.Helper()
	var o map[string]any
	if err := yaml.Unmarshal([]byte(overrideYAML), &o); err != nil {
		t.Fatalf("override: %v", err)
	}
	return merge(deepCopy(base), o)
}

func merge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := yaml.Marshal(m)
	var out map[string]any
	_ = yaml.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func capabilities() *chartutil.Capabilities {
	caps := chartutil.DefaultCapabilities.Copy()
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		panic(err)
	}
	caps.KubeVersion = *kv
	caps.APIVersions = append(caps.APIVersions, "monitoring.coreos.com/v1", "keda.sh/v1alpha1")
	return caps
}

// renderRaw applies the chart's schema and renders it with the engine in
// strict mode (a missing value is an error), as `helm template` would.
func renderRaw(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: namespace, IsInstall: true, Revision: 1,
	}, capabilities())
	if err != nil {
		return nil, err
	}
	e := engine.Engine{Strict: true}
	return e.Render(c, rv)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// render renders vals and decodes every manifest strictly into its type.
func render(t *testing.T, vals map[string]any) manifests {
	t.Helper()
	out, err := renderRaw(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var m manifests
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		content := out[name]
		if strings.HasSuffix(name, "NOTES.txt") {
			m.notes = content
			continue
		}
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range docSep.Split(content, -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			m.objs = append(m.objs, decodeStrict(t, name, []byte(doc)))
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decodeStrict decodes one manifest into its typed object: YAMLToJSONStrict
// rejects duplicate keys, then sigs.k8s.io/json rejects unknown fields and
// wrong types, naming the field path.
func decodeStrict(t *testing.T, source string, doc []byte) object {
	t.Helper()
	o, err := decode(source, doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return o
}

func decode(source string, doc []byte) (object, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return object{}, fmt.Errorf("%s: not strict YAML: %w", source, err)
	}
	var tm metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return object{}, fmt.Errorf("%s: %w", source, err)
	}
	kind := tm.APIVersion + "/" + tm.Kind
	newObj, ok := allowedKinds[kind]
	if !ok {
		return object{}, fmt.Errorf("%s: kind %s is not allowed (allowed: core kinds, ServiceMonitor/PodMonitor/PrometheusRule, ScaledObject)", source, kind)
	}
	obj := newObj()
	strictErrs, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return object{}, fmt.Errorf("%s (%s): decode: %w", source, kind, err)
	}
	if len(strictErrs) > 0 {
		return object{}, fmt.Errorf("%s (%s): strict decode: %v", source, kind, strictErrs)
	}
	meta := objectMeta(obj)
	noteDecoded(kind)
	return object{Source: source, Kind: kind, Name: meta.Name, Obj: obj, Meta: meta}, nil
}

func objectMeta(obj any) *metav1.ObjectMeta {
	switch o := obj.(type) {
	case *ScaledObject:
		return &o.ObjectMeta
	case metav1.ObjectMetaAccessor:
		return o.GetObjectMeta().(*metav1.ObjectMeta)
	}
	panic(fmt.Sprintf("no ObjectMeta on %T", obj))
}

func adxContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "adx" {
			return c
		}
	}
	t.Fatalf("no container named adx")
	return corev1.Container{}
}

// flag returns the value of -name=value in args ("" and false if absent).
func flag(args []string, name string) (string, bool) {
	val, found := "", false
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			val, found = v, true
		}
	}
	return val, found
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDumpRendered writes each case's manifests to $ADX_CHART_DUMP/<case>.yaml
// for review (skipped unless the variable is set).
func TestDumpRendered(t *testing.T) {
	dir := os.Getenv("ADX_CHART_DUMP")
	if dir == "" {
		t.Skip("set ADX_CHART_DUMP=DIR to write the rendered manifests")
	}
	for name, vals := range valueCases(t) {
		out, err := renderRaw(t, vals)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		keys := make([]string, 0, len(out))
		for k := range out {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			if strings.TrimSpace(out[k]) != "" {
				fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", k, out[k])
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStrictDecoderCatches proves the decoder the other tests rely on fails
// on unknown fields, wrong types, duplicate keys and foreign kinds, and names
// the field path.
func TestStrictDecoderCatches(t *testing.T) {
	for name, c := range map[string]struct{ doc, want string }{
		"unknown field":   {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b, livenesProbe: {}}]\n", "spec.template.spec.containers[0].livenesProbe"},
		"wrong type":      {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: three}\n", "spec.replicas"},
		"duplicate key":   {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: a, k: b}\n", "duplicate"},
		"bad quantity":    {"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\nspec: {resources: {requests: {storage: 5GB}}}\n", "quantities must match"},
		"keda typo":       {"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec: {scaleTargetRef: {name: a}, maxReplicas: 3, triggers: []}\n", "spec.maxReplicas"},
		"keda metadata":   {"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec: {scaleTargetRef: {name: a}, triggers: [{type: cpu, metadata: {value: 70}}]}\n", "spec.triggers"},
		"monitor typo":    {"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec: {selector: {}, endpoints: [{port: admin, intervall: 10s}]}\n", "spec.endpoints[0].intervall"},
		"foreign kind":    {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\n", "not allowed"},
		"old api version": {"apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n", "not allowed"},
	} {
		_, err := decode(name, []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
}
