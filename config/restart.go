package config

import (
	"reflect"
	"strings"
)

// RestartKeys are the settings a config reload cannot apply: they shape
// what is built once at start (sockets, the HTTP server, admission and
// memory controls, the data files, the money trail and event sink, the
// logger, the reload watch itself). A whole section is named by its key,
// one setting by its dotted key. auction.currency is here because the
// exchange rates are opened against it.
var RestartKeys = []string{
	"http", "admin", "geo", "devicedb", "currency", "shutdown", "log.level",
	"memory", "capture", "notices", "events", "reload", "auction.currency",
	"privacy.gvl_file",
}

// KeepRestartSettings copies onto c, a config about to replace old in
// service, every setting of RestartKeys from old, so that c holds the
// values that stay in effect until a restart. It returns the dotted keys
// whose value c had changed (by setting: "http.listen"), in RestartKeys
// order; none when the new config differs only in what reloads live.
func (c *Config) KeepRestartSettings(old *Config) []string {
	var changed []string
	nv, ov := reflect.ValueOf(c).Elem(), reflect.ValueOf(old).Elem()
	for _, key := range RestartKeys {
		nf, of := fieldByKey(nv, key), fieldByKey(ov, key)
		if !nf.IsValid() || !of.IsValid() {
			panic("BUG: config.RestartKeys names " + key + ", which Config lacks")
		}
		if reflect.DeepEqual(nf.Interface(), of.Interface()) {
			continue
		}
		if nf.Kind() == reflect.Struct {
			changed = appendChanged(changed, key, nf, of)
		} else {
			changed = append(changed, key)
		}
		nf.Set(of)
	}
	return changed
}

// appendChanged appends the dotted keys of the fields of struct n that
// differ from o's, one level deep, under prefix.
func appendChanged(changed []string, prefix string, n, o reflect.Value) []string {
	for i := range n.NumField() {
		if reflect.DeepEqual(n.Field(i).Interface(), o.Field(i).Interface()) {
			continue
		}
		changed = append(changed, prefix+"."+yamlName(n.Type().Field(i)))
	}
	return changed
}

// fieldByKey returns the field of struct v at the dotted YAML key, or the
// zero Value.
func fieldByKey(v reflect.Value, key string) reflect.Value {
	for name := range strings.SplitSeq(key, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}
		}
		found := reflect.Value{}
		for i := range v.NumField() {
			if yamlName(v.Type().Field(i)) == name {
				found = v.Field(i)
				break
			}
		}
		if !found.IsValid() {
			return found
		}
		v = found
	}
	return v
}

// yamlName is the YAML key of a struct field.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}
