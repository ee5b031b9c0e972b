package devicedb

// TokenKind tells a product token from a comment item.
type TokenKind uint8

// The token kinds of a User-Agent (RFC 9110 section 10.1.5: products and
// parenthesised comments).
const (
	// TokenProduct is "name/version" or a bare word outside parentheses.
	TokenProduct TokenKind = iota + 1
	// TokenComment is one ';'-separated item inside parentheses, trimmed.
	TokenComment
)

// Token is one User-Agent token. Name and Version are substrings of the
// tokenized string and live as long as it does. For comments Version is
// empty and Name is the whole item.
type Token struct {
	Kind    TokenKind
	Name    string
	Version string
}

// Tokenizer splits a User-Agent into tokens without allocating. The zero
// value is ready after Reset. It never fails: malformed input (unbalanced
// parentheses, control bytes) still yields a finite token sequence.
type Tokenizer struct {
	s     string
	i     int
	depth int // parenthesis nesting; items are split only at depth 1
}

// Reset starts tokenizing s.
func (t *Tokenizer) Reset(s string) { t.s, t.i, t.depth = s, 0, 0 }

// Next returns the next token, or false at the end.
func (t *Tokenizer) Next() (Token, bool) {
	s := t.s
	for t.i < len(s) {
		if t.depth > 0 {
			// Inside a comment: read one item up to ';' or the closing ')'.
			start := t.i
			for t.i < len(s) {
				c := s[t.i]
				if c == '(' {
					t.depth++
				} else if c == ')' {
					t.depth--
					if t.depth == 0 {
						break
					}
				} else if c == ';' && t.depth == 1 {
					break
				}
				t.i++
			}
			item := trimSpace(s[start:t.i])
			if t.i < len(s) {
				t.i++ // skip ';' or ')'
			}
			if item != "" {
				return Token{Kind: TokenComment, Name: item}, true
			}
			continue
		}
		c := s[t.i]
		if c == '(' {
			t.depth = 1
			t.i++
			continue
		}
		if c == ' ' || c == ')' || c == ',' || c == '\t' || c == ';' {
			t.i++
			continue
		}
		// A product ends at a space or a parenthesis; ',' stays inside so
		// that Apple hardware ids such as "iPhone15,3" remain one token.
		start := t.i
		slash := -1
		for t.i < len(s) {
			c := s[t.i]
			if c == ' ' || c == '(' || c == ')' || c == '\t' || c == ';' {
				break
			}
			if c == '/' && slash < 0 {
				slash = t.i
			}
			t.i++
		}
		if slash < 0 {
			return Token{Kind: TokenProduct, Name: s[start:t.i]}, true
		}
		return Token{Kind: TokenProduct, Name: s[start:slash], Version: s[slash+1 : t.i]}, true
	}
	return Token{}, false
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func hasSuffix(s, p string) bool { return len(s) >= len(p) && s[len(s)-len(p):] == p }

// lowerTable maps each byte to its ASCII lower case.
var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

// lower returns c lower-cased if it is an ASCII letter.
func lower(c byte) byte { return lowerTable[c] }

// equalFold reports whether ASCII strings a and b are equal ignoring case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && equalFold(s[:len(p)], p) }

// indexFold returns the index of the first occurrence of sub in s ignoring
// ASCII case, or -1. It allocates nothing.
func indexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	first := lower(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lower(s[i]) == first && equalFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
