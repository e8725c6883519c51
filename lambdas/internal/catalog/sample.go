package catalog

import (
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Sample is a small catalogue for trying the API locally.
func Sample() []Product {
	const at = "2026-01-01T00:00:00Z"
	p := func(id, name, category, description string, price, qty int64) Product {
		return Product{ProductID: id, Name: name, Category: category, Description: description, Price: price, Quantity: qty,
			OnHand: qty, Incarnation: shop.NewID("", time.Now()), Currency: "EUR", Version: 1, CreatedAt: at, UpdatedAt: at}
	}
	return []Product{
		p("P123", "Bluetooth Speaker", "Electronics", "Portable speaker, 12 hours of play", 4500, 25),
		p("P124", "Noise-Cancelling Headphones", "Electronics", "Over-ear, USB-C", 19900, 10),
		p("P125", "USB-C Charger 65W", "Electronics", "Two ports", 3900, 40),
		p("P200", "The Go Programming Language", "Books", "Donovan and Kernighan", 3499, 12),
		p("P201", "Designing Data-Intensive Applications", "Books", "Kleppmann", 4299, 8),
		p("P300", "Espresso Cup Set", "Kitchen", "Four cups, porcelain", 2400, 30),
		p("P301", "Chef's Knife", "Kitchen", "20 cm, stainless steel", 8900, 5),
	}
}
