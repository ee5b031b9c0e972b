// Package events is adx's audit trail: every win, bill and loss notice and
// a sample of auctions, each one Event, encoded as one JSON object, on its
// way to a Sink (rotating local files, or Kafka) through a bounded
// in-memory buffer that spills to disk when the sink is slow or down and
// replays the spill, in order, when it recovers or at the next start.
// Wins, bills and losses are written to the on-disk spill before they are
// acknowledged (Stream.Record), so that a killed process loses none;
// sampled auctions (Stream.Emit) are dropped, and counted, rather than
// wait.
//
// The schema is documented in docs/events.md; Event's JSON tags are it.
package events
