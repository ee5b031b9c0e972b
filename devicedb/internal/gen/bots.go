package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
)

// lit is a required literal of a pattern: one of alts must occur, anywhere,
// at the start (prefix) or at the end (suffix).
type lit struct {
	alts []string
	kind int // 0 anywhere, 1 prefix, 2 suffix
}

const maxAlts = 16

// finite returns the lower-cased strings re matches when that set is small.
func finite(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(re.Rune))}, true
	case syntax.OpCharClass:
		set := map[string]bool{}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > 8 {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set[strings.ToLower(string(r))] = true
			}
		}
		if len(set) > 4 {
			return nil, false
		}
		out := make([]string, 0, len(set))
		for s := range set {
			out = append(out, s)
		}
		sort.Strings(out)
		return out, true
	case syntax.OpCapture:
		return finite(re.Sub[0])
	case syntax.OpQuest:
		s, ok := finite(re.Sub[0])
		return append(s, ""), ok
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			s, ok := finite(sub)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, len(out) <= maxAlts
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			s, ok := finite(sub)
			if !ok {
				return nil, false
			}
			out = cross(out, s)
			if len(out) > maxAlts {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

func cross(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

func minLen(ss []string) int {
	m := 1 << 30
	for _, s := range ss {
		m = min(m, len(s))
	}
	return m
}

// required returns the best required literal of a pattern.
func required(pattern string) (lit, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return lit{}, false
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var best lit
	bestLen := 0
	var run []string
	runStart := 0
	flush := func(end int) {
		if run == nil {
			return
		}
		l := lit{alts: run}
		if runStart > 0 && subs[runStart-1].Op == syntax.OpBeginText {
			l.kind = 1
		} else if end < len(subs) && subs[end].Op == syntax.OpEndText {
			l.kind = 2
		}
		if m := minLen(run); m > bestLen {
			best, bestLen = l, m
		}
		run = nil
	}
	for i, sub := range subs {
		if s, ok := finite(sub); ok && sub.Op != syntax.OpBeginText && sub.Op != syntax.OpEndText {
			if run == nil {
				run, runStart = []string{""}, i
			}
			run = cross(run, s)
			if len(run) > maxAlts {
				run = nil
			}
			continue
		}
		flush(i)
	}
	flush(len(subs))
	return best, bestLen >= 3
}

type botTok struct {
	s    string
	kind int
}

// appClients are the HTTP client libraries of mobile apps (lower case, as
// the UA's product name starts): an app that requests an ad through them
// sends their UA, so their traffic is in-app inventory, not a crawler. A
// crawler-list pattern that requires one of them is left out of the bot
// tokens; an exchange that flagged it would block in-app inventory as
// invalid traffic. The list is written into bots_gen.go (appClientUAs)
// for the tests that measure the crawler list.
var appClients = []string{"okhttp", "ktor"}

// appClient reports whether lit, a pattern's required literal, names an
// app's HTTP client library.
func appClient(lit string) bool {
	for _, c := range appClients {
		if strings.HasPrefix(lit, c) {
			return true
		}
	}
	return false
}

func genBots(testdata, out string) error {
	var crawlers []struct {
		Pattern   string   `json:"pattern"`
		Instances []string `json:"instances"`
	}
	if err := readJSON(filepath.Join(testdata, "crawler/crawler-user-agents.json"), &crawlers); err != nil {
		return err
	}
	var browsers []struct {
		UserAgent string `json:"userAgent"`
	}
	if err := readJSON(filepath.Join(testdata, "intoli/user-agents.json.gz"), &browsers); err != nil {
		return err
	}
	lowerBrowsers := make([]string, len(browsers))
	for i, b := range browsers {
		lowerBrowsers[i] = strings.ToLower(b.UserAgent)
	}
	matchesBrowser := func(t botTok) bool {
		for _, b := range lowerBrowsers {
			if t.kind == 1 && strings.HasPrefix(b, t.s) || t.kind == 2 && strings.HasSuffix(b, t.s) || t.kind == 0 && strings.Contains(b, t.s) {
				return true
			}
		}
		return false
	}
	seen := map[botTok]bool{}
	var toks []botTok
	var skipped, dropped, exempt []string
	for _, c := range crawlers {
		l, ok := required(c.Pattern)
		if !ok {
			skipped = append(skipped, c.Pattern)
			continue
		}
		if slices.ContainsFunc(l.alts, appClient) {
			exempt = append(exempt, c.Pattern)
			continue
		}
		for _, a := range l.alts {
			t := botTok{a, l.kind}
			if len(a) < 3 || seen[t] {
				continue
			}
			seen[t] = true
			if matchesBrowser(t) {
				dropped = append(dropped, fmt.Sprintf("%q from %q", a, c.Pattern))
				continue
			}
			toks = append(toks, t)
		}
	}
	sort.Slice(toks, func(i, j int) bool {
		if toks[i].kind != toks[j].kind {
			return toks[i].kind < toks[j].kind
		}
		return toks[i].s < toks[j].s
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by devicedb/internal/gen from crawler-user-agents.json (MIT, Copyright (c) 2017 Martin Monperrus). DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package devicedb\n\n")
	fmt.Fprintf(&b, "// botTokens: %d tokens from %d patterns; %d patterns had no literal of 3+ bytes and %d tokens were dropped because they occur in real browser UAs (user-agents-intoli):\n", len(toks), len(crawlers), len(skipped), len(dropped))
	for _, s := range skipped {
		fmt.Fprintf(&b, "//   no literal: %q\n", s)
	}
	for _, s := range dropped {
		fmt.Fprintf(&b, "//   dropped: %s\n", s)
	}
	for _, s := range exempt {
		fmt.Fprintf(&b, "//   exempt, an app's HTTP client: %q\n", s)
	}
	fmt.Fprintf(&b, "var botTokens = []botToken{\n")
	names := []string{"botAnywhere", "botPrefix", "botSuffix"}
	for _, t := range toks {
		fmt.Fprintf(&b, "\t{%q, %s},\n", t.s, names[t.kind])
	}
	fmt.Fprintf(&b, "}\n\n")
	fmt.Fprintf(&b, "// appClientUAs are the HTTP client libraries of mobile apps whose UAs\n")
	fmt.Fprintf(&b, "// are in-app traffic, not crawlers: no bot token requires them\n")
	fmt.Fprintf(&b, "// (devicedb/internal/gen, appClients).\n")
	fmt.Fprintf(&b, "var appClientUAs = %#v\n", appClients)
	src, err := format.Source(b.Bytes())
	if err != nil {
		return fmt.Errorf("cannot format bots_gen.go: %w", err)
	}
	// Report recall on the list's own instances with the original regexps.
	var total, hit int
	for _, c := range crawlers {
		re, err := regexp.Compile(c.Pattern)
		if err != nil || slices.Contains(exempt, c.Pattern) {
			continue
		}
		for _, in := range c.Instances {
			if !re.MatchString(in) {
				continue
			}
			total++
			low := strings.ToLower(in)
			for _, t := range toks {
				if t.kind == 1 && strings.HasPrefix(low, t.s) || t.kind == 2 && strings.HasSuffix(low, t.s) || t.kind == 0 && startsWord(low, t.s) {
					hit++
					break
				}
			}
		}
	}
	fmt.Fprintf(os.Stderr, "gen: %d bot tokens, %d patterns skipped, %d tokens dropped; the tokens alone (as devicedb matches them, without its conventions) find %d/%d instances\n", len(toks), len(skipped), len(dropped), hit, total)
	return os.WriteFile(filepath.Join(out, "bots_gen.go"), src, 0o644)
}

// startsWord reports whether tok occurs in s where it does not continue a
// word (devicedb's matching rule for tokens that start with a letter, digit
// or '_').
func startsWord(s, tok string) bool {
	word := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }
	for off := 0; ; {
		i := strings.Index(s[off:], tok)
		if i < 0 {
			return false
		}
		i += off
		if i == 0 || !word(s[i-1]) || !word(tok[0]) {
			return true
		}
		off = i + 1
	}
}
