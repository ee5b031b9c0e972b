package events

import "context"

// Record is one encoded event as a sink takes it.
type Record struct {
	// Key partitions the events: the auction id, so that one auction's
	// events stay in order on one partition.
	Key []byte
	// Value is the event as one JSON object, without a newline.
	Value []byte
}

// Sink is where events are delivered: rotating local files or a Kafka
// topic. Write returns nil only once every record of batch is durable in
// the sink, in order; on error some of them may have been delivered, and
// the caller delivers the whole batch again (events carry an idempotency
// key for that). Write must return by ctx's deadline. Write is called from
// one goroutine at a time; Close is called once, after the last Write.
type Sink interface {
	Write(ctx context.Context, batch []Record) error
	Close() error
}
