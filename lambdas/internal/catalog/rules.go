package catalog

import (
	"unicode/utf8"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Limits of the product fields, as the API contract states them.
const (
	MaxNameLength        = 200
	MaxCategoryLength    = 64
	MaxDescriptionLength = 4000
	// MaxPrice keeps every total of a cart or an order far inside int64.
	MaxPrice = 100_000_000_00
	// MaxQuantity bounds stock for the same reason.
	MaxQuantity = 1_000_000_000
	// MaxPageSize and DefaultPageSize bound list pages.
	MaxPageSize     = 100
	DefaultPageSize = 20
)

// ValidateCreate checks the fields of a new product; all required ones must be present.
func ValidateCreate(f Fields) error {
	var v shop.Violations
	required := []struct {
		name    string
		present bool
	}{{"name", f.Name != nil}, {"price", f.Price != nil}, {"category", f.Category != nil}, {"quantity", f.Quantity != nil}}
	for _, r := range required {
		if !r.present {
			v.Add(r.name, "is required")
		}
	}
	if f.ProductID != nil && !shop.ValidID(*f.ProductID) {
		v.Add("product_id", shop.IDRule)
	}
	checkWritable(&v, f)
	return v.Err()
}

// ValidateUpdate checks a partial update: at least one field, each within its rules.
// The id is not writable.
func ValidateUpdate(f Fields) error {
	var v shop.Violations
	if f.ProductID != nil {
		v.Add("product_id", "cannot be changed")
	}
	if f.Name == nil && f.Description == nil && f.Price == nil && f.Currency == nil && f.Category == nil && f.Quantity == nil && f.QuantityDelta == nil {
		v.Add("body", "must change at least one of name, description, price, currency, category, quantity, quantity_delta")
	}
	if f.QuantityDelta != nil {
		switch d := *f.QuantityDelta; {
		case f.Quantity != nil:
			v.Add("quantity_delta", "cannot be combined with quantity")
		case d == 0 || d < -MaxQuantity || d > MaxQuantity:
			v.Add("quantity_delta", "must be a non-zero integer from -1000000000 to 1000000000")
		}
	}
	checkWritable(&v, f)
	return v.Err()
}

func checkWritable(v *shop.Violations, f Fields) {
	if f.Name != nil {
		checkText(v, "name", *f.Name, 1, MaxNameLength)
	}
	if f.Category != nil {
		checkText(v, "category", *f.Category, 1, MaxCategoryLength)
	}
	if f.Description != nil {
		checkText(v, "description", *f.Description, 0, MaxDescriptionLength)
	}
	if f.Price != nil && (*f.Price < 0 || *f.Price > MaxPrice) {
		v.Add("price", "must be an integer from 0 to 10000000000 (minor units)")
	}
	if f.Quantity != nil && (*f.Quantity < 0 || *f.Quantity > MaxQuantity) {
		v.Add("quantity", "must be an integer from 0 to 1000000000")
	}
	if f.Currency != nil && !ValidCurrency(*f.Currency) {
		v.Add("currency", "must be a three-letter ISO 4217 code such as EUR")
	}
}

func checkText(v *shop.Violations, field, s string, minLen, maxLen int) {
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen:
		v.Add(field, "must not be empty")
	case n > maxLen:
		v.Add(field, "is longer than the limit")
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			v.Add(field, "must not contain control characters")
			return
		}
	}
}

// ValidCurrency reports whether s has the shape of an ISO 4217 code: three upper-case letters.
func ValidCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
