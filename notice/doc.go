// Package notice is what leaves adx about a won or lost bid, and what
// comes back: the OpenRTB substitution macros (2.6 §4.4) expanded in a
// winning bid's markup and notice URLs, with each demand partner's price
// encrypted when it asks for it; the signed, self-contained tokens
// (Signer) that the exchange's own win, billing and loss notice URLs
// carry, HMAC-SHA256 under a key id so that keys rotate, with an expiry;
// and, when an SSP fires one of those, what acting on it takes: refusing
// replays (ReplayGuard), the demand partner's price from the SSP's
// (DSPPrice, ParsePrice), its own notice URL expanded (Expander.Notice)
// and fired asynchronously, bills retried (Sender).
package notice
