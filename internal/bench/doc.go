// Package bench holds adx's load-testing tools: realistic traffic, a load
// generator and mock DSPs.
package bench
