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
//
// # Device types
//
// Lookup reports the AdCOM 1.0 device type ("Device Types" list: 1
// mobile/tablet, 2 PC, 3 connected TV, 4 phone, 5 tablet, 6 connected
// device, 7 set-top box). A device identified by a model token keeps the
// type its database row gives when that is 2–7; otherwise the UA decides:
//
//   - 3, connected TV: smart TVs (Tizen, SMART-TV/SmartTV, webOS/Web0S and
//     NetCast, BRAVIA, Android TV, "; TV", AndroidTV, Vizio SmartCast,
//     Hisense VIDAA, Philips NetTV, Panasonic Viera, Sharp AQUOS, Opera TV
//     builds, HbbTV from a TV maker, Japanese DTV) and the streaming
//     players that plug into a TV, since the ad plays on the TV and that
//     is what buyers target as CTV: Fire TV (AFT* models, sticks included),
//     Roku (players, sticks and TVs), Chromecast (CrKey, Chromecast with
//     Google TV), Apple TV (AppleTV, tvOS), Xiaomi Mi Box, Google TV boxes.
//     The database's rows of these devices carry 3.
//   - 7, set-top box: the boxes of pay-TV operators and the satellite and
//     cable receivers, where the UA or the device row says so: Freebox, Sky
//     Q, Comcast X1, HbbTV from a set-top box maker (Humax, Kathrein, VU+,
//     Dreambox, …), a model named STB or TV BOX, LG and Sony Blu-ray
//     players, WebTV; and a device whose database row carries 7 (the TV-class
//     models of those makers and operators, devicedb/internal/gen).
//   - 6, connected device: game consoles (PlayStation, Xbox, Nintendo
//     Switch, Wii U, 3DS), as AdCOM lists them and most exchanges send
//     them; wearables (Apple Watch, Wear OS, Galaxy Watch); cars (Tesla,
//     CarPlay, Android Automotive); smart displays and speakers (Google Cast
//     on Fuchsia or DeviceType/SmartSpeaker); VR headsets.
//   - 1, mobile or tablet: an app's UA that names the OS but not the
//     device, such as CFNetwork/… Darwin/… or Dalvik without "Mobile".
//
// # In-app User-Agents
//
// Apps send their HTTP stack's UA or their own (inapp.go): CFNetwork with
// Darwin (iOS, its release from the Darwin version; macOS when the UA
// names a Mac), Facebook's and Messenger's [FBAN/…] bracket (FBDV, FBSV,
// FBSN, FBMD, FBMF, FBDM), Instagram's device description (Android
// release, density, screen, maker, model) and iOS hardware id, Snapchat,
// TikTok's web views and API clients, Dalvik. HTTP clients that name no
// device (okhttp, Ktor, UnityPlayer) get no OS and no device type, and
// are not bots: crawler-user-agents lists okhttp, but apps request ads
// through these clients, so the bot tokens leave out the patterns that
// require an app's HTTP client library (okhttp, Ktor; the generator's
// appClients list) lest in-app inventory be blocked as invalid traffic.
//
// # Screens
//
// Result.W and Result.H are the physical screen, as OpenRTB 2.6 defines
// device.w and device.h. A device the database names reports its row's
// screen, the panel. The screen an app's UA states (FBDM, Instagram's WxH)
// is the app's window: without the system bars, or at the scaled
// resolution the user picked, so it is smaller than the panel (1080x2220
// on a 1080x2340 Galaxy A50); it is reported only for a device the
// database does not list or lists without a size.
//
// # Makes
//
// Result.Make is spelled as the database's brand table spells the brand
// ("ASUS", "OPPO") wherever the table lists it: a word of the UA that may
// be a brand ("HUAWEI G520 Build/…") counts only when the table lists it,
// and the in-app maker names map to the table's spelling. It is never a
// part of the UA.
package devicedb
