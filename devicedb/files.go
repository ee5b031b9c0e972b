package devicedb

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// ReadSourceFile reads a source file: WURFL XML when the name ends in .xml,
// else YAML (FORMAT.md).
func ReadSourceFile(path string) (*Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read device source: %w", err)
	}
	var src *Source
	if strings.HasSuffix(strings.ToLower(path), ".xml") {
		src, err = ImportWURFL(bytes.NewReader(data))
	} else {
		src, err = ParseSource(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	return src, nil
}

// OpenFile loads a snapshot, or compiles a source when the file does not
// start with the snapshot magic. It is meant for tools and reloads, off the
// request path.
func OpenFile(path string) (*DB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open device database: %w", err)
	}
	if bytes.HasPrefix(data, []byte(snapshotMagic)) {
		db, err := Load(data)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", path, err)
		}
		return db, nil
	}
	src, err := ReadSourceFile(path)
	if err != nil {
		return nil, err
	}
	db, err := Compile(src)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	return db, nil
}
