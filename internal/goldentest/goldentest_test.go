package goldentest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestEach(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"b.json": `{"n": 2}`, "a.json": `{"n": 1}`, "c.txt": `{"n": 3}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type tc struct{ N int }
	var got []int
	var names []string
	Each(t, filepath.Join(dir, "*.json"), func(t *testing.T, _ string, c *tc) {
		got = append(got, c.N)
		names = append(names, t.Name())
	})
	if !slices.Equal(got, []int{1, 2}) {
		t.Errorf("cases %v, want [1 2]", got)
	}
	if want := []string{"TestEach/a", "TestEach/b"}; !slices.Equal(names, want) {
		t.Errorf("subtests %v, want %v", names, want)
	}
}
