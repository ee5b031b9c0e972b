package devicedb

import "strings"

// Bot detection without regexp: the crawler-user-agents patterns (MIT) are
// reduced at build time (internal/gen) to case-insensitive literal tokens,
// each required anywhere, at the start or at the end of the User-Agent.
// isBot scans the UA once, testing each 3-byte window against a 64 Kibit
// filter and verifying only filter hits; a token must start a word.

const (
	botAnywhere = iota
	botPrefix
	botSuffix
)

type botToken struct {
	s    string // lower case, at least 3 bytes
	kind uint8
}

type botIndex struct {
	filter   [1 << 10]uint64 // bit per hashed trigram
	byTri    map[uint32][]botEntry
	prefixes []string
	suffixes []string
}

// botEntry is a token indexed by the trigram at offset off.
type botEntry struct {
	s   string
	off int
}

// commonUAs are typical browser UAs: each token is indexed by a trigram
// they lack, so that the filter rarely fires on real traffic.
var commonUAs = []string{
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
}

var bots = newBotIndex(botTokens)

func trigram(a, b, c byte) uint32 {
	return uint32(lower(a))<<16 | uint32(lower(b))<<8 | uint32(lower(c))
}

func triHash(t uint32) uint32 { return (t * 2654435761) >> 16 }

func newBotIndex(toks []botToken) *botIndex {
	x := &botIndex{byTri: make(map[uint32][]botEntry, len(toks))}
	common := map[uint32]bool{}
	for _, ua := range commonUAs {
		for i := 0; i+3 <= len(ua); i++ {
			common[trigram(ua[i], ua[i+1], ua[i+2])] = true
		}
	}
	for _, t := range toks {
		switch {
		case len(t.s) < 3:
			continue
		case t.kind == botPrefix:
			x.prefixes = append(x.prefixes, t.s)
		case t.kind == botSuffix:
			x.suffixes = append(x.suffixes, t.s)
		default:
			off := 0
			for o := 0; o+3 <= len(t.s); o++ {
				if !common[trigram(t.s[o], t.s[o+1], t.s[o+2])] {
					off = o
					break
				}
			}
			k := trigram(t.s[off], t.s[off+1], t.s[off+2])
			h := triHash(k)
			x.filter[h>>6] |= 1 << (h & 63)
			x.byTri[k] = append(x.byTri[k], botEntry{t.s, off})
		}
	}
	return x
}

// isBot reports whether ua contains a crawler token, or follows the
// conventions of crawlers the list does not name. It allocates nothing.
// Lookup does the same without a second pass over the tokens: parseUA
// checks the conventions as it reads them.
func isBot(ua string) bool { return listedBot(ua) || conventionalBot(ua) }

// conventionalBot catches crawlers by the conventions they follow: a
// "+http" contact URL, or a product (or a "compatible" comment item) named
// …bot, …crawler, …spider or …scraper ("ProoXiBot", "NL-Crawler"). Browser
// UAs never do; a phone maker such as CUBOT appears only as a plain comment
// item, which is not read.
func conventionalBot(ua string) bool {
	if strings.Contains(ua, "+http") {
		return true
	}
	var tz Tokenizer
	tz.Reset(ua)
	compatible := false
	for {
		tok, ok := tz.Next()
		if !ok {
			return false
		}
		name := tok.Name
		if tok.Kind == TokenComment {
			if name == "compatible" {
				compatible = true
				continue
			}
			k := strings.IndexByte(name, '/')
			if !compatible || k <= 0 {
				continue
			}
			name = name[:k] // "compatible; DBot/7.5.6"
		} else {
			compatible = false
		}
		if botName(name) {
			return true
		}
	}
}

// wordByte reports letters, digits and '_'. A listed token that starts with
// one must not follow one: "sonic" is a crawler, "Panasonic" and
// "ViewSonic" phones are not, nor is "HTC_Butterfly" the Butterfly bot.
func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// botName reports whether a product name ends in a crawler word.
func botName(s string) bool {
	for _, w := range [...]string{"bot", "crawler", "spider", "scraper"} {
		if len(s) > len(w) && equalFold(s[len(s)-len(w):], w) {
			return true
		}
	}
	return false
}

// listedBot reports whether ua contains a token of the crawler list.
func listedBot(ua string) bool {
	x := bots
	for _, p := range x.prefixes {
		if hasPrefixFold(ua, p) {
			return true
		}
	}
	for _, s := range x.suffixes {
		if len(ua) >= len(s) && equalFold(ua[len(ua)-len(s):], s) {
			return true
		}
	}
	for i := 0; i+3 <= len(ua); i++ {
		k := trigram(ua[i], ua[i+1], ua[i+2])
		h := triHash(k)
		if x.filter[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, e := range x.byTri[k] {
			start := i - e.off
			if start >= 0 && len(ua)-start >= len(e.s) && equalFold(ua[start:start+len(e.s)], e.s) &&
				(start == 0 || !wordByte(ua[start-1]) || !wordByte(e.s[0])) {
				return true
			}
		}
	}
	return false
}

// IsBot reports whether ua contains a token of the built-in crawler list
// (crawler-user-agents, MIT). It allocates nothing.
func IsBot(ua string) bool { return isBot(ua) }
