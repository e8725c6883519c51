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
