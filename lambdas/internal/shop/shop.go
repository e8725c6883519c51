// Package shop holds the vocabulary every part of the shop shares: the sentinel
// errors that the HTTP edge maps to status codes, field-level validation errors,
// identifiers and the caller's identity.
package shop

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Domain code wraps them with what it was doing; the HTTP edge
// maps them to a status once, with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("conflict")
	ErrStale    = errors.New("precondition failed") // If-Match did not match the stored version
	// ErrPreconditionRequired is a write that needs If-Match and came without.
	ErrPreconditionRequired = errors.New("precondition required")
	ErrUnauthenticated      = errors.New("unauthenticated")
	ErrForbidden            = errors.New("forbidden")
	ErrUnavailable          = errors.New("backend unavailable") // a dependency cannot be reached; safe to retry
	// ErrCacheUnavailable is ErrUnavailable of the cache, counted apart.
	ErrCacheUnavailable = fmt.Errorf("cache: %w", ErrUnavailable)
	ErrThrottled        = errors.New("throttled") // a dependency refused for load; safe to retry
)

// FieldError says what is wrong with one named field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError is a request that failed validation. It lists every field at fault,
// so a client fixes them all in one round trip.
type InvalidError struct {
	Fields []FieldError
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("invalid request")
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + " " + f.Message)
	}
	return b.String()
}

// Invalid builds an InvalidError for one field.
func Invalid(field, message string) error {
	return &InvalidError{Fields: []FieldError{{Field: field, Message: message}}}
}

// JoinInvalid merges validation errors so that one answer names every field
// at fault; any other error wins as it is.
func JoinInvalid(errs ...error) error {
	var all Violations
	for _, err := range errs {
		if err == nil {
			continue
		}
		inv, ok := err.(*InvalidError)
		if !ok {
			return err
		}
		all = append(all, inv.Fields...)
	}
	return all.Err()
}

// Violations collects field errors while a request is checked.
type Violations []FieldError

// Add records that field is wrong for the given reason.
func (v *Violations) Add(field, message string) { *v = append(*v, FieldError{field, message}) }

// Err is nil when nothing was recorded, an *InvalidError otherwise.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &InvalidError{Fields: v}
}

// IDRule is the message for an identifier that fails ValidID.
const IDRule = "must be 1 to 64 characters of A-Z a-z 0-9 _ -"

// MaxIDLength bounds every client-visible identifier.
const MaxIDLength = 64

// ValidID reports whether s is 1 to 64 characters of A-Z a-z 0-9 _ -.
func ValidID(s string) bool { return ValidToken(s, 1, MaxIDLength) }

// ValidToken reports whether s is minLen to maxLen characters of A-Z a-z 0-9 _ -.
func ValidToken(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// crockford is the base32 alphabet of ULIDs: no I, L, O, U, and it sorts like the numbers it encodes.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns prefix followed by a 26-character ULID: 48 bits of milliseconds
// then 80 random bits, so ids made later sort later.
func NewID(prefix string, now time.Time) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(raw[6:]) // crypto/rand.Read never fails on Linux
	var out [26]byte
	// 128 bits as 26 base32 digits: the first digit carries the top 3 bits.
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return prefix + string(out[:])
}

// IDTime is when id (a ULID after prefix) was made, to the millisecond.
func IDTime(prefix, id string) (time.Time, bool) {
	u, ok := strings.CutPrefix(id, prefix)
	if !ok || len(u) != 26 {
		return time.Time{}, false
	}
	var ms uint64
	for _, c := range []byte(u[:10]) { // 50 bits: the 48 of the time, after 2 zero bits
		i := strings.IndexByte(crockford, c)
		if i < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(i)
	}
	return time.UnixMilli(int64(ms)), true
}

// Identity is the signed-in caller, as the token's claims describe them.
type Identity struct {
	Subject string
	Email   string
	Name    string
	Groups  []string
}

// Client is a machine caller: an OAuth 2.0 client-credentials access token's
// app client and scopes.
type Client struct {
	ID     string
	Scopes []string
}

// Has reports whether the client holds scope.
func (c Client) Has(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// In reports whether the caller belongs to group.
func (id Identity) In(group string) bool {
	for _, g := range id.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// ErrKeyReused is an idempotency key sent again with a different request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// ConflictError is a 409 with a reason a client can act on: Reason becomes the
// problem type (/problems/<reason>), Fields name what is at fault.
type ConflictError struct {
	Reason string
	Detail string
	Fields []FieldError
}

func (e *ConflictError) Error() string { return e.Reason + ": " + e.Detail }

// Is makes every ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// TextProblem says what is wrong with free text s, or "" when nothing is
// (docs/contract.md, "Free text"): every character must be a letter, a
// mark, a number, punctuation, a symbol or a space separator (Unicode
// general categories L, M, N, P, S and Zs, as of unicode.Version), and none
// may be a Hangul filler (letters that render as nothing). So control
// characters (newlines and tabs too), format characters (bidirectional
// controls, which reorder what a reader sees, CVE-2021-42574; zero-width
// and invisible operators; tag characters), private-use, surrogate and
// unassigned code points, and line and paragraph separators are refused:
// two strings that look the same are never two categories of the
// catalogue. A character newer than Go's Unicode tables (an emoji added
// after Unicode 15.0) is unassigned to them, and refused.
func TextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if p := runeProblem(r); p != "" {
			return fmt.Sprintf("must not contain %s (U+%04X)", p, r)
		}
	}
	return ""
}

// hangulFillers are letters (Lo) that render as nothing.
var hangulFillers = []rune{0x115f, 0x1160, 0x3164, 0xffa0}

// runeProblem names the class of r when free text may not hold it.
func runeProblem(r rune) string {
	switch {
	case slices.Contains(hangulFillers, r):
		return "a Hangul filler"
	case unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs):
		return ""
	case unicode.Is(unicode.Cc, r):
		return "control characters"
	case unicode.Is(unicode.Cf, r):
		return "format characters (bidirectional controls, invisible characters)"
	case unicode.Is(unicode.Co, r):
		return "private-use characters"
	case unicode.Is(unicode.Cs, r):
		return "surrogates"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "line or paragraph separators"
	}
	return "characters unassigned in Unicode " + unicode.Version
}

// StripText is s without the characters TextProblem refuses (and without
// bytes that are not UTF-8): what the shop stores of a text it does not
// refuse, such as the name claim of a sign-in token, which its owner may
// set to anything.
func StripText(s string) string {
	s = strings.ToValidUTF8(s, "")
	return strings.Map(func(r rune) rune {
		if runeProblem(r) != "" {
			return -1
		}
		return r
	}, s)
}
