package catalog

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

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
	if f.Name == nil && f.Description == nil && f.Price == nil && f.Currency == nil && f.Category == nil && f.Quantity == nil && f.OnHand == nil && f.QuantityDelta == nil {
		v.Add("body", "must change at least one of name, description, price, currency, category, quantity, on_hand, quantity_delta")
	}
	if f.StockFigures() > 1 {
		v.Add("body", "may set at most one of quantity, on_hand and quantity_delta")
	}
	if d := f.QuantityDelta; d != nil && (*d == 0 || *d < -MaxQuantity || *d > MaxQuantity) {
		v.Add("quantity_delta", "must be a non-zero integer from -1000000000 to 1000000000")
	}
	if f.OnHand != nil && (*f.OnHand < 0 || *f.OnHand > MaxQuantity) {
		v.Add("on_hand", "must be an integer from 0 to 1000000000")
	}
	checkWritable(&v, f)
	return v.Err()
}

// StockFigures counts the stock figures f sets (quantity, on_hand,
// quantity_delta).
func (f Fields) StockFigures() int {
	n := 0
	for _, set := range []bool{f.Quantity != nil, f.OnHand != nil, f.QuantityDelta != nil} {
		if set {
			n++
		}
	}
	return n
}

// SetsAbsoluteStock says whether f sets an absolute stock figure, which
// without If-Match would silently undo the checkouts since the caller read.
func (f Fields) SetsAbsoluteStock() bool { return f.Quantity != nil || f.OnHand != nil }

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
		v.Add("price", fmt.Sprintf("must be an integer from 0 to %d (minor units)", MaxPrice))
	}
	if f.Quantity != nil && (*f.Quantity < 0 || *f.Quantity > MaxQuantity) {
		v.Add("quantity", fmt.Sprintf("must be an integer from 0 to %d", MaxQuantity))
	}
	if f.Currency != nil && !ValidCurrency(*f.Currency) {
		v.Add("currency", "must be a three-letter ISO 4217 code such as EUR")
	}
}

// checkText: the length in characters, and only the characters free text
// may hold (shop.TextProblem).
func checkText(v *shop.Violations, field, s string, minLen, maxLen int) {
	if problem := shop.TextProblem(s); problem != "" {
		v.Add(field, problem)
		return
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen:
		v.Add(field, "must not be empty")
	case n > maxLen:
		v.Add(field, "is longer than the limit")
	}
}

// NormalCategory is a category in Unicode normalization form C without its
// default-ignorable code points (the variation selectors, the combining
// grapheme joiner and the other marks that render as nothing): one category
// however a client composed its accents ("Café" typed as e and a combining
// acute is the same category), and two that look the same are one; stored
// and queried alike.
func NormalCategory(c string) string {
	return strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return -1
		}
		return r
	}, norm.NFC.String(c))
}

// normalized returns f with its category in form C.
func (f Fields) normalized() Fields {
	if f.Category != nil {
		c := NormalCategory(*f.Category)
		f.Category = &c
	}
	return f
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

// StockConflict is the stock rule of an update f against the product p it
// changes: a quantity_delta may not take the available stock below zero, and
// a stock-take may not count fewer units than pending orders hold; either is
// a *shop.ConflictError "insufficient-stock". nil when f keeps the rule.
func StockConflict(p Product, f Fields) error {
	var field, msg string
	switch {
	case f.QuantityDelta != nil && p.Quantity+*f.QuantityDelta < 0:
		field, msg = "quantity_delta", fmt.Sprintf("%s has %d available; %d would take it below zero", p.ProductID, p.Quantity, *f.QuantityDelta)
	case f.OnHand != nil && *f.OnHand < p.Held:
		field, msg = "on_hand", fmt.Sprintf("pending orders hold %d of %s; on_hand cannot be below them", p.Held, p.ProductID)
	default:
		return nil
	}
	return &shop.ConflictError{Reason: "insufficient-stock", Detail: "The stock cannot go below what is held or below zero.",
		Fields: []shop.FieldError{{Field: field, Message: msg}}}
}
