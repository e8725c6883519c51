package cursor

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

type pos struct {
	ID  string `json:"id"`
	Cat string `json:"cat"`
}

func codec(t testing.TB) *Codec {
	c, err := New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	c := codec(t)
	tok, err := c.Seal("products", pos{"P1", "Books"})
	if err != nil {
		t.Fatal(err)
	}
	var got pos
	if err := c.Open("products", tok, &got); err != nil {
		t.Fatal(err)
	}
	if got != (pos{"P1", "Books"}) {
		t.Errorf("got %+v", got)
	}
}

func TestOpenRefuses(t *testing.T) {
	c := codec(t)
	tok, _ := c.Seal("products?category=Books", pos{"P1", "Books"})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	flipped := append([]byte(nil), raw...)
	flipped[2] ^= 1
	other, _ := New([]byte(strings.Repeat("o", 32)))
	foreign, _ := other.Seal("products?category=Books", pos{"P1", "Books"})
	tests := []struct {
		name, scope, token string
	}{
		{"tampered payload", "products?category=Books", base64.RawURLEncoding.EncodeToString(flipped)},
		{"other scope", "products?category=Games", tok},
		{"other key", "products?category=Books", foreign},
		{"not base64", "products?category=Books", "!!!"},
		{"empty", "products?category=Books", ""},
		{"too short", "products?category=Books", "AAAA"},
		{"too long", "products?category=Books", strings.Repeat("A", MaxLength+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got pos
			if err := c.Open(tt.scope, tt.token, &got); !errors.Is(err, ErrInvalid) {
				t.Errorf("Open = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNewRefusesShortKey(t *testing.T) {
	if _, err := New(make([]byte, 31)); err == nil {
		t.Error("New accepted a 31-byte key")
	}
}

func FuzzOpen(f *testing.F) {
	c := codec(f)
	tok, _ := c.Seal("s", pos{"P1", "B"})
	f.Add("s", tok)
	f.Add("s", "")
	f.Add("t", tok)
	f.Fuzz(func(t *testing.T, scope, token string) {
		var p pos
		if err := c.Open(scope, token, &p); err == nil {
			// Only a token this codec sealed for this scope may open.
			again, _ := c.Seal(scope, p)
			var q pos
			if c.Open(scope, again, &q) != nil || q != p {
				t.Fatalf("opened token does not round-trip: %+v", p)
			}
		}
	})
}
