// Package enrich fills in what an SSP left out of a bid request: geo and
// network facts from MaxMind databases, and device facts from the device
// database. It reads the request as the SSP sent it, full IP included;
// what each DSP may see of the result is package privacy's decision.
//
// # Geo
//
// Geo (OpenGeo) looks up device.ip, or device.ipv6, in up to four MaxMind
// databases, each optional and each hot-reloaded by internal/reload:
//
//	slot             database_type                                         fills
//	city             GeoIP2/GeoLite2-City, GeoIP2/GeoLite2-Country,        device.geo
//	                 GeoIP2-Enterprise
//	isp              GeoIP2-ISP, GeoLite2-ASN                              device.carrier, device.mccmnc
//	connection_type  GeoIP2-Connection-Type                                device.connectiontype
//	anonymous_ip     GeoIP2-Anonymous-IP                                   GeoOutcome.Blocked
//
// A database file of another type in a slot is rejected, at start and on
// reload. Field by field (OpenRTB 2.6 §3.2.18 Device, §3.2.19 Geo):
//
//   - geo.country: ISO 3166-1 alpha-3, converted from MaxMind's alpha-2
//     by Alpha3 (Kosovo, XK, becomes CLDR's XKK).
//   - geo.region: the ISO 3166-2 code of the most general subdivision,
//     without the country prefix (ENG, WA, E), as MaxMind stores it.
//   - geo.city (English name), geo.zip (postal code), geo.metro (metro_code).
//   - geo.lat, geo.lon and geo.accuracy: MaxMind's accuracy_radius is in
//     kilometers, OpenRTB's accuracy in meters (×1000). With them,
//     geo.type 2 (IP address) and geo.ipservice 3 (MaxMind).
//   - geo.utcoffset: minutes from UTC of the record's time zone, at the
//     moment of the request (daylight saving time included).
//   - device.carrier: the ISP database's isp, else organization, else
//     (GeoLite2-ASN) autonomous_system_organization.
//   - device.mccmnc: "MCC-MNC" (e.g. "310-004") where the ISP database
//     has mobile_country_code and mobile_network_code.
//   - device.connectiontype: a product decision, since neither MaxMind nor
//     OpenRTB maps one list to the other: Cable/DSL and Corporate are 1
//     (Ethernet), Cellular is 3 (cellular, unknown generation); Satellite,
//     Dialup and unknown values leave the field unset.
//
// What the SSP sent wins by default: only empty fields are filled, and the
// fields below the country only when the SSP sent no country or the same
// one, and lat/lon only when it sent neither (they come with their
// accuracy, type and ipservice), so the object stays one coherent place.
// GeoOptions.Override makes the exchange's value win: for geo, the whole
// object is replaced (ext is kept) whenever the database knows the
// country, so no SSP field is left describing another place; for
// connectiontype, carrier and mccmnc, the field is replaced when the
// database has a value, and kept when it has none.
//
// A request whose address carries a blocked Anonymous-IP flag
// (GeoOptions.Block) is left unchanged and reported in GeoOutcome.Blocked,
// so the server can answer it without an auction.
//
// Databases are read into memory, not memory-mapped: a database rewritten
// in place under a mapping faults its readers (SIGBUS), whatever the
// reference counting. A process holds one copy of each database, two
// during a reload.
package enrich
