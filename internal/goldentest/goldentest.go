// Package goldentest runs test cases kept as JSON files under testdata:
// one subtest per file, the file decoded into the case type.
package goldentest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each runs f as a subtest for every file matching pattern (a
// filepath.Glob pattern, e.g. "testdata/golden/*.json"), named by the
// file's base name without its extension, with the file's JSON decoded
// into a new T; f is given the file's path too, to rewrite it when
// asked to update the goldens. It fails when no file matches: a golden test that finds
// no case proves nothing.
func Each[T any](t *testing.T, pattern string, f func(t *testing.T, file string, c *T)) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files match %s: %v", pattern, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := new(T)
			if err := json.Unmarshal(data, c); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			f(t, file, c)
		})
	}
}
