// Package devicedb is a WURFL-style device database: a human-editable source
// (FORMAT.md) compiled into a versioned, checksummed snapshot, loaded into an
// immutable *DB and matched against a User-Agent plus OpenRTB 2.6 device.sua
// client hints without regexp on the hot path.
//
// Lifetimes: a *DB is immutable after Compile or Load and safe for concurrent
// use; a reload builds a new *DB (with a new Generation) and the caller swaps
// it atomically. A Result never aliases the Evidence it was computed from, so
// it may be cached or kept after the request ends.
//
// FORMAT.md describes the source format and SOURCES.md the data behind the
// embedded default database.
package devicedb
