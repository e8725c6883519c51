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

// Free text holds letters, marks, numbers, punctuation, symbols and space
// separators, and nothing else (docs/contract.md): what looks like one
// thing and is another is refused, and the problem says why. The cases
// include every character issue 43 found accepted.
func TestTextProblem(t *testing.T) {
	tests := []struct {
		name, s string
		want    string // a part of the problem; empty: accepted
	}{
		{"plain", "Café au lait", ""},
		{"accents and scripts", "Ünïcödé 東京 مرحبا हिन्दी", ""},
		{"an emoji and symbols", "tea 🍵 €5 ©", ""},
		{"an emoji with a variation selector", "❤️", ""},
		{"combining marks", "é", ""},
		{"no-break and ideographic spaces (Zs)", "a b　c", ""},
		{"punctuation", "«quoted» — (yes)!", ""},
		{"a newline", "one\ntwo", "control"},
		{"a tab", "one\ttwo", "control"},
		{"NUL", "a\x00b", "control"},
		{"escape", "a\x1b[31mred", "control"},
		{"DEL", "a\x7f", "control"},
		{"C1", "a\u0085b", "control"},
		{"line separator", "a\u2028b", "line or paragraph"},
		{"paragraph separator", "a\u2029b", "line or paragraph"},
		{"right-to-left override", "abc\u202edcba", "format"},
		{"right-to-left isolate", "a\u2067b\u2069", "format"},
		{"right-to-left mark", "a\u200fb", "format"},
		{"Arabic letter mark", "a\u061cb", "format"},
		{"zero-width space", "Bo\u200boks", "format"},
		{"zero-width joiner", "a\u200db", "format"},
		{"word joiner", "a\u2060b", "format"},
		{"byte-order mark", "\ufeffBooks", "format"},
		{"soft hyphen", "Bo\u00adoks", "format"},
		{"invisible separator U+2063", "Electronics\u2063", "format"},
		{"invisible plus U+2064", "a\u2064b", "format"},
		{"inhibit symmetric swapping U+206A", "a\u206ab", "format"},
		{"nominal digit shapes U+206F", "a\u206fb", "format"},
		{"interlinear annotation anchor U+FFF9", "a\ufff9b", "format"},
		{"interlinear annotation terminator U+FFFB", "a\ufffbb", "format"},
		{"tag letter A U+E0041", "a\U000e0041b", "format"},
		{"cancel tag U+E007F", "a\U000e007fb", "format"},
		{"Hangul filler U+3164", "a\u3164b", "Hangul filler"},
		{"Hangul choseong filler U+115F", "\u115f", "Hangul filler"},
		{"Hangul jungseong filler U+1160", "\u1160", "Hangul filler"},
		{"halfwidth Hangul filler U+FFA0", "\uffa0", "Hangul filler"},
		{"private use", "a\ue000b", "private-use"},
		{"unassigned U+0378", "a\u0378b", "unassigned"},
		{"a noncharacter U+FFFF", "a\uffffb", "unassigned"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TextProblem(tt.s)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("TextProblem(%q) = %q, want %q", tt.s, got, tt.want)
			}
			// What TextProblem refuses, StripText takes out, and nothing else.
			stripped := StripText(tt.s)
			if TextProblem(stripped) != "" || (tt.want == "" && stripped != tt.s) {
				t.Errorf("StripText(%q) = %q", tt.s, stripped)
			}
		})
	}
}
