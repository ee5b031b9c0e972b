// Package notice is what leaves adx about a won or lost bid: the OpenRTB
// substitution macros (2.6 §4.4) expanded in a winning bid's markup and
// notice URLs, with each demand partner's price encrypted when it asks for
// it; and the signed tokens (Signer) that the exchange's own win, billing
// and loss notice URLs will carry: HMAC-SHA256 under a key id, so that keys
// rotate, with an expiry.
package notice
