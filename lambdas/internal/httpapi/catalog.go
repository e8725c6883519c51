package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Catalog serves the /products routes.
type Catalog struct {
	svc    *catalog.Service
	images *images.Service
}

// NewCatalog returns the catalogue's HTTP handlers over svc, with product
// images through imgs.
func NewCatalog(svc *catalog.Service, imgs *images.Service) *Catalog {
	return &Catalog{svc: svc, images: imgs}
}

// Routes are the catalogue's routes of the table (contract.RoutesOf), each
// with its handler.
func (c *Catalog) Routes() []Route {
	return bind(contract.Catalog, map[string]HandlerFunc{
		"GET /products":                     c.list,
		"POST /products":                    c.create,
		"GET /products/{product_id}":        c.get,
		"PATCH /products/{product_id}":      c.update,
		"DELETE /products/{product_id}":     c.remove,
		"POST /products/{product_id}/image": c.upload,
		"GET /trending":                     c.trending,
	})
}

// DecodeUpload reads an upload request: {"content_type": "...", "content_length": n}.
func DecodeUpload(body []byte) (string, int64, error) {
	o, err := decodeObject(body, "content_type", "content_length")
	if err != nil {
		return "", 0, err
	}
	var ct *string
	var n *int64
	o.String("content_type", &ct)
	o.Int("content_length", &n)
	if err := o.Err(); err != nil {
		return "", 0, err
	}
	var v shop.Violations
	if ct == nil {
		v.Add("content_type", "is required")
	}
	if n == nil {
		v.Add("content_length", "is required")
	}
	if err := v.Err(); err != nil {
		return "", 0, err
	}
	return *ct, *n, images.CheckUpload(*ct, *n)
}

func (c *Catalog) upload(ctx context.Context, r *Request) (Response, error) {
	ct, n, err := DecodeUpload(r.Body)
	if err != nil {
		return Response{}, err
	}
	up, err := c.images.NewUpload(ctx, r.Params["product_id"], ct, n)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusCreated, Body: up}, nil
}

// productFields are the members a product body may carry.
var productFields = []string{"product_id", "name", "description", "price", "currency", "category", "quantity", "on_hand", "quantity_delta", "held"}

// DecodeProductFields reads a create or update body. It checks JSON types and
// names; the catalogue checks the rules.
func DecodeProductFields(body []byte) (catalog.Fields, error) {
	o, err := decodeObject(body, productFields...)
	if err != nil {
		return catalog.Fields{}, err
	}
	var f catalog.Fields
	o.String("product_id", &f.ProductID)
	o.String("name", &f.Name)
	o.String("description", &f.Description)
	o.Int("price", &f.Price)
	o.String("currency", &f.Currency)
	o.String("category", &f.Category)
	o.Int("quantity", &f.Quantity)
	o.Int("on_hand", &f.OnHand)
	o.Int("quantity_delta", &f.QuantityDelta)
	o.ReadOnly("held", "pending orders hold units, and their end returns them")
	return f, o.Err()
}

func (c *Catalog) create(ctx context.Context, r *Request) (Response, error) {
	f, err := DecodeProductFields(r.Body)
	if err != nil {
		return Response{}, withRules(err, catalog.ValidateCreate(f))
	}
	if f.QuantityDelta != nil {
		return Response{}, shop.Invalid("quantity_delta", "is for changing a product's stock; a new product takes quantity")
	}
	if f.OnHand != nil {
		return Response{}, shop.Invalid("on_hand", "is for a stock-take; a new product takes quantity, its opening stock")
	}
	f.By = r.Identity.Subject
	p, err := c.svc.Create(ctx, f)
	if err != nil {
		return Response{}, err
	}
	resp := productResponse(http.StatusCreated, p)
	resp.Headers[contract.HeaderLocation] = "/products/" + p.ProductID
	return resp, nil
}

func (c *Catalog) get(ctx context.Context, r *Request) (Response, error) {
	p, err := c.svc.Get(ctx, r.Params["product_id"])
	if err != nil {
		return Response{}, err
	}
	return productResponse(http.StatusOK, p), nil
}

func (c *Catalog) list(ctx context.Context, r *Request) (Response, error) {
	limit, err := listQuery(r.Query, catalog.MaxPageSize, "category", "limit", "cursor")
	if err != nil {
		return Response{}, err
	}
	page, err := c.svc.List(ctx, r.Query["category"], limit, r.Query["cursor"])
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: page}, nil
}

// trendingWindow is the window GET /trending reports.
const trendingWindow = "24h"

func (c *Catalog) trending(ctx context.Context, r *Request) (Response, error) {
	limit, err := listQuery(r.Query, catalog.MaxTrending, "category", "limit")
	if err != nil {
		return Response{}, err
	}
	items, err := c.svc.Trending(ctx, r.Query["category"], limit)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: map[string]any{"items": items, "window": trendingWindow}}, nil
}

func (c *Catalog) update(ctx context.Context, r *Request) (Response, error) {
	ifVersion, err := ParseIfMatch(r.Header(contract.HeaderIfMatch))
	if err != nil {
		return Response{}, err
	}
	f, err := DecodeProductFields(r.Body)
	if err != nil {
		return Response{}, withRules(err, catalog.ValidateUpdate(f))
	}
	f.By = r.Identity.Subject
	p, err := c.svc.Update(ctx, r.Params["product_id"], f, ifVersion)
	if err != nil {
		return Response{}, err
	}
	return productResponse(http.StatusOK, p), nil
}

func (c *Catalog) remove(ctx context.Context, r *Request) (Response, error) {
	ifVersion, err := ParseIfMatch(r.Header(contract.HeaderIfMatch))
	if err != nil {
		return Response{}, err
	}
	p, err := c.svc.Delete(ctx, r.Params["product_id"], ifVersion)
	if err != nil {
		return Response{}, err
	}
	// The product is gone either way; an image left behind by a failure here
	// is an orphan that no product links to, and a later upload event for it
	// deletes it too.
	if err := c.images.RemoveAll(ctx, p.ProductID); err != nil {
		r.Logger().WarnContext(ctx, "delete the images of a deleted product", "product_id", p.ProductID, "error", err.Error())
	}
	return Response{Status: http.StatusNoContent}, nil
}

// withRules adds to the type errors of a body the rule errors of its other
// fields, so that one answer names every field at fault. A body that is not an
// object at all is reported alone.
func withRules(decodeErr, ruleErr error) error {
	var dec, rule *shop.InvalidError
	if !errors.As(decodeErr, &dec) || !errors.As(ruleErr, &rule) {
		return decodeErr
	}
	named := map[string]bool{}
	for _, f := range dec.Fields {
		if f.Field == "body" {
			return decodeErr
		}
		named[f.Field] = true
	}
	all := append([]shop.FieldError(nil), dec.Fields...)
	for _, f := range rule.Fields {
		if !named[f.Field] {
			all = append(all, f)
		}
	}
	return &shop.InvalidError{Fields: all}
}

func productResponse(status int, p catalog.Product) Response {
	return Response{Status: status, Body: p, Headers: map[string]string{contract.HeaderETag: ETag(p.Version)}}
}

// ETag is the entity tag of a resource at version v.
func ETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ParseIfMatch reads an If-Match header: absent or "*" means no version check;
// otherwise it must be one entity tag this API issued, "<version>".
func ParseIfMatch(h string) (*int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return nil, nil
	}
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return nil, shop.Invalid(contract.HeaderIfMatch, `must be an entity tag such as "3", as sent in ETag`)
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || v < 1 {
		return nil, shop.Invalid(contract.HeaderIfMatch, `must be an entity tag such as "3", as sent in ETag`)
	}
	return &v, nil
}
