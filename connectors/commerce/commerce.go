// Package commerce is the source connector of the example commerce
// platform, a Shopify-like shop whose order webhooks (orders/create,
// orders/updated, orders/paid, orders/cancelled, orders/fulfilled) carry
// the whole order (connectors/shopify verifies their signatures;
// contracts in avro/schemas/source/commerce).
//
// Its mapping (mapping.yaml, compiled into sluice) turns each order into
// a canonical Order with its lines, amounts and addresses, and the
// order's customer, when it has one (not for guest checkouts), into a
// Contact that the order's contact_id refers to, matched across systems
// by e-mail. Prices are decimal strings in the shop's currency and become
// exact minor units by the currency's ISO 4217 exponent; a line's total is
// its price times its quantity less its discount, and shipping is what
// the buyer pays beyond the lines and the tax. A cancel reason makes the
// order CANCELLED whatever its fulfilment.
//
// testdata holds sample webhooks written for sluice and, under
// testdata/golden, the canonical events each becomes; go test -update
// rewrites the golden files.
package commerce

import "embed"

// Source is the source system's name, as integrations write it.
const Source = "commerce"

//go:embed mapping.yaml
var files embed.FS

// Mapping returns the connector's default mapping (mapping.yaml).
func Mapping() []byte {
	b, err := files.ReadFile("mapping.yaml")
	if err != nil {
		panic("commerce: mapping.yaml is not embedded: " + err.Error()) // cannot happen: go:embed checks at build time
	}
	return b
}
