// Package notice is what leaves adx about a won or lost bid: the OpenRTB
// substitution macros (2.6 §4.4) expanded in a winning bid's markup and
// notice URLs, with each demand partner's price encrypted when it asks for
// it. Signed notices will live here too.
package notice
