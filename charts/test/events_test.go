package charttest

import (
	"path"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// renderedConfig returns the adx config the ConfigMap of m holds, decoded.
func renderedConfig(t *testing.T, m manifests) map[string]any {
	t.Helper()
	cms := m.byKind("ConfigMap")
	if len(cms) == 0 {
		t.Fatalf("no ConfigMap rendered")
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(cms[0].Obj.(*corev1.ConfigMap).Data["adx.yaml"]), &cfg); err != nil {
		t.Fatalf("adx.yaml: %v", err)
	}
	return cfg
}

// dig returns cfg's value at the dotted key ("" when absent).
func dig(cfg map[string]any, key string) any {
	var v any = cfg
	for _, k := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// secretFiles lists the config keys naming a file that a Secret must
// provide, with the file.
func secretFiles(cfg map[string]any) map[string]string {
	files := map[string]string{}
	for _, k := range []string{"events.kafka.tls.ca_file", "events.kafka.tls.cert_file", "events.kafka.tls.key_file", "events.kafka.sasl.password_file"} {
		if f, ok := dig(cfg, k).(string); ok {
			files[k] = f
		}
	}
	keys, _ := dig(cfg, "notices.keys").([]any)
	for i, k := range keys {
		if f, ok := k.(map[string]any)["secret_file"].(string); ok {
			files["notices.keys["+strconv.Itoa(i)+"].secret_file"] = f
		}
	}
	return files
}

// TestEventsFilesMounted: every file the rendered config names exists in
// the pod: each secret file is an item of a Secret volume mounted
// read-only where the config points, and the event file and the spill
// are on the adx container's one writable mount, the events volume.
func TestEventsFilesMounted(t *testing.T) {
	for name, vals := range valueCases(t) {
		t.Run(name, func(t *testing.T) {
			m := render(t, vals)
			d := m.deployment(t)
			cfg := renderedConfig(t, m)
			volumes := map[string]corev1.Volume{}
			for _, v := range d.Spec.Template.Spec.Volumes {
				volumes[v.Name] = v
			}
			adx := adxContainer(t, d)
			mounts := map[string]corev1.VolumeMount{}
			var writable []string
			for _, vm := range adx.VolumeMounts {
				mounts[vm.MountPath] = vm
				if !vm.ReadOnly {
					writable = append(writable, vm.Name)
				}
			}
			if len(writable) != 1 || writable[0] != "events" {
				t.Errorf("adx's writable mounts are %v, want only the events volume", writable)
			}
			for _, k := range []string{"events.file.path", "events.spill_dir"} {
				p, _ := dig(cfg, k).(string)
				if vm, ok := mountOf(mounts, p); !ok || vm.Name != "events" || vm.ReadOnly {
					t.Errorf("%s = %q is not on the writable events volume (mount %+v)", k, p, vm)
				}
			}
			files := secretFiles(cfg)
			for key, f := range files {
				vm, ok := mounts[path.Dir(f)]
				if !ok || !vm.ReadOnly {
					t.Errorf("%s = %s: no read-only mount at %s", key, f, path.Dir(f))
					continue
				}
				sec := volumes[vm.Name].Secret
				if sec == nil || sec.SecretName == "" {
					t.Errorf("%s = %s: volume %s is not a Secret", key, f, vm.Name)
					continue
				}
				found := false
				for _, it := range sec.Items {
					found = found || it.Path == path.Base(f)
				}
				if !found {
					t.Errorf("%s = %s: Secret %s projects no item at %s", key, f, sec.SecretName, path.Base(f))
				}
				if sec.DefaultMode == nil || *sec.DefaultMode&0o007 != 0 {
					t.Errorf("%s: Secret volume %s is readable by others (defaultMode %v)", key, vm.Name, sec.DefaultMode)
				}
			}
			if name == "events-kafka" && len(files) != 6 {
				t.Errorf("ci/events-kafka-values.yaml: %d secret files in the config, want 6 (CA, cert, key, SASL password, two notice keys): %v", len(files), files)
			}
			if pw := dig(cfg, "events.kafka.sasl.password"); pw != nil {
				t.Errorf("the ConfigMap holds the SASL password")
			}
			keys, _ := dig(cfg, "notices.keys").([]any)
			for _, k := range keys {
				if _, ok := k.(map[string]any)["secret"]; ok {
					t.Errorf("the ConfigMap holds a notice key's secret")
				}
			}
		})
	}
}

// mountOf returns the mount holding file p: the longest mount path above it.
func mountOf(mounts map[string]corev1.VolumeMount, p string) (corev1.VolumeMount, bool) {
	var best corev1.VolumeMount
	for mp, vm := range mounts {
		if strings.HasPrefix(p, mp+"/") && len(mp) > len(best.MountPath) {
			best = vm
		}
	}
	return best, best.Name != ""
}

// TestEventsConfigFromValues: the values reach the config keys adx reads.
func TestEventsConfigFromValues(t *testing.T) {
	cfg := renderedConfig(t, render(t, ciValues(t, "events-kafka")))
	for key, want := range map[string]any{
		"events.sink":                     "kafka",
		"events.auction_sample":           0.05,
		"events.spill_dir":                "/var/lib/adx/events/spill",
		"events.spill_max_bytes":          float64(6442450944),
		"events.file.path":                "/var/lib/adx/events/events.jsonl",
		"events.kafka.topic":              "adx-events",
		"events.kafka.client_id":          "adx-prod",
		"events.kafka.tls.enabled":        true,
		"events.kafka.tls.server_name":    "events.kafka.example.com",
		"events.kafka.tls.ca_file":        "/var/run/secrets/adx/kafka-tls/ca.crt",
		"events.kafka.sasl.mechanism":     "SCRAM-SHA-512",
		"events.kafka.sasl.username":      "adx",
		"events.kafka.sasl.password_file": "/var/run/secrets/adx/kafka-sasl/password",
		"notices.base_url":                "https://adx.example.com",
		"notices.ttl":                     "12h",
	} {
		if got := dig(cfg, key); got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if b, _ := dig(cfg, "events.kafka.brokers").([]any); len(b) != 3 {
		t.Errorf("events.kafka.brokers = %v, want the 3 brokers", b)
	}
	keys, _ := dig(cfg, "notices.keys").([]any)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, ",") != "k2026b,k2026a" {
		t.Errorf("notices.keys ids %v, want k2026b (signing) then k2026a, in keyIds order", ids)
	}
	// The file sink leaves Kafka out; no keys Secret leaves keys out.
	def := renderedConfig(t, render(t, map[string]any{}))
	if dig(def, "events.kafka") != nil || dig(def, "notices.keys") != nil || dig(def, "notices.base_url") != nil {
		t.Errorf("default values render kafka, keys or base_url: %v %v", dig(def, "events"), dig(def, "notices"))
	}
}

// TestEventsSpillVolume: emptyDir by default, a per-pod claim of a class,
// or one existing claim for one pod with Recreate rollouts.
func TestEventsSpillVolume(t *testing.T) {
	volume := func(vals map[string]any) (corev1.Volume, string) {
		t.Helper()
		d := render(t, vals).deployment(t)
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "events" {
				return v, string(d.Spec.Strategy.Type)
			}
		}
		t.Fatalf("no events volume")
		return corev1.Volume{}, ""
	}
	v, strategy := volume(map[string]any{})
	if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.String() != "4Gi" || strategy != "RollingUpdate" {
		t.Errorf("default: %+v, %s; want an emptyDir of 4Gi and rolling updates", v.VolumeSource, strategy)
	}
	v, _ = volume(with(t, map[string]any{}, "events: {spill: {storageClass: gp3, size: 16Gi}}"))
	if e := v.Ephemeral; e == nil || e.VolumeClaimTemplate == nil || *e.VolumeClaimTemplate.Spec.StorageClassName != "gp3" {
		t.Errorf("storageClass: %+v, want an ephemeral claim of class gp3", v.VolumeSource)
	} else if q := e.VolumeClaimTemplate.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "16Gi" {
		t.Errorf("storageClass: request %s, want 16Gi", q.String())
	}
	v, strategy = volume(with(t, map[string]any{}, "replicaCount: 1\nautoscaling: {hpa: {enabled: false}}\nevents: {spill: {existingClaim: adx-events}}"))
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "adx-events" || strategy != "Recreate" {
		t.Errorf("existingClaim: %+v, %s; want claim adx-events and Recreate", v.VolumeSource, strategy)
	}
}

// TestNoticesKeysWarning: NOTES.txt warns when several pods may serve
// without shared notice keys, and only then.
func TestNoticesKeysWarning(t *testing.T) {
	for _, c := range []struct {
		name, values string
		warn         bool
	}{
		{"default: HPA up to 30 pods", "", true},
		{"3 replicas", "autoscaling: {hpa: {enabled: false}}\nreplicaCount: 3", true},
		{"keda", "autoscaling: {hpa: {enabled: false}, keda: {enabled: true}}", true},
		{"1 replica", "autoscaling: {hpa: {enabled: false}}\nreplicaCount: 1", false},
		{"keys set", "notices: {keysSecret: k, keyIds: [a]}", false},
	} {
		notes := render(t, with(t, map[string]any{}, c.values)).notes
		if got := strings.Contains(notes, "WARNING: notices.keysSecret is not set"); got != c.warn {
			t.Errorf("%s: warning %v, want %v:\n%s", c.name, got, c.warn, notes)
		}
	}
}

// TestNoticeKeyRotationRollsPods: a new key id changes the config, which
// adx cannot reload, so the pods roll and mount the Secret's new key.
func TestNoticeKeyRotationRollsPods(t *testing.T) {
	sum := func(y string) string {
		return render(t, with(t, map[string]any{}, y)).deployment(t).Spec.Template.Annotations["checksum/config-restart"]
	}
	if sum("notices: {keysSecret: k, keyIds: [a]}") == sum("notices: {keysSecret: k, keyIds: [b, a]}") {
		t.Errorf("adding a notice key id must change checksum/config")
	}
	if sum("") == sum("events: {sink: kafka, kafka: {brokers: ['k:9092']}}") {
		t.Errorf("switching the event sink must change checksum/config")
	}
}

// TestEventsValuesRejected: the schema and the templates refuse values
// adx would refuse, values that would put a secret in the ConfigMap, and
// volumes that cannot hold what adx writes.
func TestEventsValuesRejected(t *testing.T) {
	c := loadChart(t)
	schema := map[string]string{
		"inline SASL password": "events: {kafka: {sasl: {mechanism: PLAIN, username: u, password: p}}}",
		"inline notice secret": "notices: {keys: [{id: a, secret: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}]}",
		"unknown sink":         "events: {sink: s3}",
		"sample above 1":       "events: {auctionSample: 1.5}",
		"broker without port":  "events: {kafka: {brokers: [kafka-1]}}",
		"sasl mechanism":       "events: {kafka: {sasl: {mechanism: GSSAPI}}}",
		"size unit":            "events: {spill: {size: 4GB}}",
		"relative file path":   "events: {file: {path: events.jsonl}}",
		"keep all files":       "events: {file: {keep: 0}}",
		"key id":               "notices: {keysSecret: k, keyIds: ['a b']}",
		"duplicate key id":     "notices: {keysSecret: k, keyIds: [a, a]}",
		"base URL":             "notices: {baseURL: 'adx.example.com'}",
		"ttl without unit":     "notices: {ttl: 24}",
		"typo":                 "events: {kafka: {tls: {enable: true}}}",
	}
	schemaRejects(t, c, schema)
	for name, c := range map[string]struct{ values, want string }{
		"kafka without brokers":   {"events: {sink: kafka}", "events.kafka.brokers"},
		"sasl without secret":     {"events: {kafka: {sasl: {mechanism: PLAIN, username: u}}}", "existingSecret"},
		"sasl without username":   {"events: {kafka: {sasl: {mechanism: PLAIN, existingSecret: s}}}", "username"},
		"sasl without mechanism":  {"events: {kafka: {sasl: {existingSecret: s}}}", "mechanism"},
		"tls secret, tls off":     {"events: {kafka: {tls: {existingSecret: s}}}", "tls.enabled"},
		"cert without key":        {"events: {kafka: {tls: {enabled: true, existingSecret: s, keyKey: ''}}}", "certKey and keyKey"},
		"keys without ids":        {"notices: {keysSecret: k}", "notices.keyIds"},
		"ids without keys":        {"notices: {keyIds: [a]}", "notices.keysSecret"},
		"claim with 3 replicas":   {"autoscaling: {hpa: {enabled: false}}\nreplicaCount: 3\nevents: {spill: {existingClaim: c}}", "replicaCount 1"},
		"claim with autoscaler":   {"replicaCount: 1\nevents: {spill: {existingClaim: c}}", "no autoscaler"},
		"claim and class":         {"events: {spill: {existingClaim: c, storageClass: s}}", "exclusive"},
		"files past the volume":   {"events: {spill: {size: 3327Mi}}", "events.spill.size"},
		"spill past the volume":   {"events: {sink: kafka, kafka: {brokers: ['k:9092']}, spill: {size: 512Mi}}", "events.spill.size"},
		"file off the volume":     {"events: {file: {path: /tmp/events.jsonl}}", "events.file.path"},
		"spill off the volume":    {"events: {spill: {dir: /var/lib/adx/spill}}", "events.spill.dir"},
		"inside the data volume":  {"data: {mountPath: /var/lib/adx}", "must not nest"},
		"holding the data volume": {"data: {mountPath: /var/lib/adx/events/data}", "must not nest"},
	} {
		_, err := renderRaw(t, with(t, map[string]any{}, c.values))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: render error %v, want one naming %q", name, err, c.want)
		} else {
			noteRejected()
		}
	}
	// The budget's edge: the defaults need (8 + 1) x 256 MiB of files and
	// 1 GiB of spill, 3328 MiB of the 4 GiB volume; a kafka sink needs only
	// the spill.
	for _, ok := range []string{
		"events: {spill: {size: 3328Mi}}",
		"events: {sink: kafka, kafka: {brokers: ['k:9092']}, spill: {size: 1024Mi}}",
	} {
		if _, err := renderRaw(t, with(t, map[string]any{}, ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
