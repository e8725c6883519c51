// Package shop holds the vocabulary every part of the shop shares: the sentinel
// errors that the HTTP edge maps to status codes, field-level validation errors,
// identifiers and the caller's identity.
package shop

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
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

// TextProblem says what is wrong with free text s, or "" when nothing is:
// invalid UTF-8; control characters (C0, DEL and C1; newline and tab only
// when multiline); bidirectional controls, which reorder what a reader sees
// (CVE-2021-42574, "Trojan Source"); and invisible format characters
// (zero-width space and joiners, word joiner, byte-order mark, soft hyphen),
// which make two strings that look the same differ, such as two categories
// that split the catalogue and trending.
func TextProblem(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			if !multiline {
				return "must be one line, without tabs"
			}
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029:
			return fmt.Sprintf("must not contain control characters (U+%04X)", r)
		case r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("must not contain bidirectional control characters (U+%04X)", r)
		case r == 0x00ad || r == 0x180e || r >= 0x200b && r <= 0x200d || r == 0x2060 || r == 0xfeff:
			return fmt.Sprintf("must not contain invisible characters (U+%04X)", r)
		}
	}
	return ""
}
