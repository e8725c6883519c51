// Package cursor turns a storage position (a DynamoDB start key) into an opaque
// page token that clients cannot forge: the token is the position plus an
// HMAC-SHA256 over it and the listing it belongs to, so a token edited by hand,
// or replayed against another listing, is refused instead of reaching the table.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalid is a token that was not made by this codec for this listing.
var ErrInvalid = errors.New("invalid cursor")

const macSize = 16 // 128 bits of HMAC-SHA256 is ample against forgery and keeps tokens short

// MaxLength bounds a token before any work is done on it.
const MaxLength = 1024

// Codec seals and opens page tokens with one secret key.
type Codec struct {
	key []byte
}

// FromSecret returns the Codec of a configured secret (CURSOR_SECRET): hex,
// or else text, at least 32 bytes either way.
func FromSecret(secret string) (*Codec, error) {
	key := []byte(secret)
	if b, err := hex.DecodeString(secret); err == nil {
		key = b
	}
	c, err := New(key)
	if err != nil {
		return nil, fmt.Errorf("CURSOR_SECRET: %w", err)
	}
	return c, nil
}

// New returns a Codec for key, which must be at least 32 bytes.
func New(key []byte) (*Codec, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("cursor key has %d bytes, need at least 32", len(key))
	}
	return &Codec{key: append([]byte(nil), key...)}, nil
}

// Seal returns the token for position v within the listing named scope.
func (c *Codec) Seal(scope string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal cursor: %w", err)
	}
	out := append(payload, c.mac(scope, payload)...)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open checks token against scope and decodes its position into v.
func (c *Codec) Open(scope, token string, v any) error {
	if len(token) > MaxLength {
		return ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) <= macSize {
		return ErrInvalid
	}
	payload, tag := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(tag, c.mac(scope, payload)) {
		return ErrInvalid
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return ErrInvalid
	}
	return nil
}

func (c *Codec) mac(scope string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(scope))
	m.Write([]byte{0}) // the scope cannot run into the payload
	m.Write(payload)
	return m.Sum(nil)[:macSize]
}

// Page is one page of a listing and the cursor of the next, if any.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// NewPage is the page of items (never a null list); when next is set it is
// sealed under scope as the next cursor.
func NewPage[T, K any](c *Codec, scope string, items []T, next *K) (Page[T], error) {
	page := Page[T]{Items: items}
	if page.Items == nil {
		page.Items = []T{}
	}
	if next != nil {
		tok, err := c.Seal(scope, next)
		if err != nil {
			return Page[T]{}, err
		}
		page.NextCursor = &tok
	}
	return page, nil
}
