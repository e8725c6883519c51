package shop

import (
	"strings"
	"testing"
	"time"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"simple", "P123", true},
		{"all classes", "a-Z_09", true},
		{"max length", strings.Repeat("x", 64), true},
		{"empty", "", false},
		{"too long", strings.Repeat("x", 65), false},
		{"slash", "a/b", false},
		{"space", "a b", false},
		{"unicode", "prodé", false},
		{"dot", "a.b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestNewIDSortsByTimeAndIsValid(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewID("P", t0)
	b := NewID("P", t0.Add(time.Millisecond))
	if len(a) != 27 || !ValidID(a) {
		t.Fatalf("NewID = %q: want P + 26 valid characters", a)
	}
	if !(a < b) {
		t.Errorf("ids do not sort by time: %q >= %q", a, b)
	}
	if c := NewID("P", t0); c == a {
		t.Errorf("two ids in the same millisecond are equal: %q", a)
	}
}

func TestIDTime(t *testing.T) {
	for _, at := range []time.Time{time.UnixMilli(0), time.UnixMilli(1795872953536), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)} {
		id := NewID("P", at)
		got, ok := IDTime("P", id)
		if !ok || !got.Equal(at) {
			t.Errorf("IDTime(%s) = %v %v, want %v", id, got, ok, at)
		}
	}
	for _, bad := range []string{"", "P", "P01ARZ3NDEKTSV4RRFFQ69G5F", "P01ARZ3NDEKTSV4RRFFQ69G5FAV!", "X01ARZ3NDEKTSV4RRFFQ69G5FAV", "P01ARZ3NDEKUSV4RRFFQ69G5FA"} {
		if _, ok := IDTime("P", bad); ok {
			t.Errorf("IDTime(%q) accepted", bad)
		}
	}
}

// Free text that looks like one thing and is another is refused, and says why.
func TestTextProblem(t *testing.T) {
	tests := []struct {
		name, s   string
		multiline bool
		want      string // a part of the problem; empty: accepted
	}{
		{"plain", "Café au lait", false, ""},
		{"accents and scripts", "Ünïcödé 東京 مرحبا", false, ""},
		{"emoji with a joiner sequence's parts apart", "tea 🍵", false, ""},
		{"lines in a description", "one\ntwo\tthree", true, ""},
		{"a newline in a name", "one\ntwo", false, "one line"},
		{"NUL", "a\x00b", true, "control"},
		{"escape", "a\x1b[31mred", true, "control"},
		{"DEL", "a\x7f", true, "control"},
		{"C1", "a\u0085b", true, "control"},
		{"line separator", "a\u2028b", true, "control"},
		{"right-to-left override", "abc\u202edcba", false, "bidirectional"},
		{"right-to-left isolate", "a\u2067b\u2069", false, "bidirectional"},
		{"right-to-left mark", "a\u200fb", false, "bidirectional"},
		{"Arabic letter mark", "a\u061cb", false, "bidirectional"},
		{"zero-width space", "Bo\u200boks", false, "invisible"},
		{"zero-width joiner", "a\u200db", false, "invisible"},
		{"word joiner", "a\u2060b", false, "invisible"},
		{"byte-order mark", "\ufeffBooks", false, "invisible"},
		{"soft hyphen", "Bo\u00adoks", false, "invisible"},
		{"invalid UTF-8", "a\xffb", true, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TextProblem(tt.s, tt.multiline)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("TextProblem(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}
