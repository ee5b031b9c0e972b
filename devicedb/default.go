package devicedb

import (
	_ "embed" // the default snapshot
	"sync"
)

// defaultSnapshot is default.yaml compiled by internal/gen (go generate).
//
//go:embed default.snap
var defaultSnapshot []byte

var loadDefault = sync.OnceValues(func() (*DB, error) { return Load(defaultSnapshot) })

// Default returns the embedded default database, loading it on first use
// (about 10 ms for its 6,300 devices; nothing is done at init). Every call returns the same
// immutable *DB. The error is non-nil only for a broken build.
func Default() (*DB, error) { return loadDefault() }

// DefaultSnapshot returns the embedded snapshot bytes; callers must not
// modify them.
func DefaultSnapshot() []byte { return defaultSnapshot }
