// Package privacy decides, for each demand partner of each bid request,
// what the user's privacy signals let the partner see: whether it is
// sent the request at all, and what is removed from it first.
//
// A request's signals (regs.coppa, regs.gdpr with user.consent,
// regs.us_privacy, device.lmt, the App Tracking Transparency status in
// device.ext.atts, and their OpenRTB 2.5 places in the ext objects) are
// read once, after enrichment (Signals.Parse). For each partner,
// Signals.Decide then returns a Decision: called or not, and the Scrub
// its request gets (ids stripped, the IP truncated, coordinates rounded
// or geo cut to country and region), with the rules that made it.
// Signals.Scrubbed applies a Scrub to a shallow copy of the request,
// leaving the request that the exchange and other partners read as it
// is. Enrichment and the exchange's own use see the full request; only
// what leaves for a partner is scrubbed.
//
// Every rule, with an example, is in docs/privacy.md. The decoders of
// the IAB TCF v2.2 consent string and of GPP are their own part of the
// package; the TCF rules (rules_consent.go) read a decoded string, and
// Parse is where it is decoded.
package privacy
