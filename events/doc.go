// Package events is adx's audit trail: every win, bill and loss notice and
// a sample of auctions, each one Event, encoded as one JSON object, on its
// way to a Sink (rotating local files, or Kafka) through a bounded
// in-memory buffer that spills to disk when the sink is slow or down and
// replays the spill, in order, when it recovers or at the next start.
//
// The schema is documented in docs/events.md; Event's JSON tags are it.
package events
