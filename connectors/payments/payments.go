// Package payments is the source connector of the example payments
// system, a Stripe-like API whose webhooks are event objects
// ({id, type, created, data: {object}}) signed with its own scheme
// (connectors/stripe); contracts in avro/schemas/source/payments.
//
// Its mapping (mapping.yaml, compiled into sluice) turns customers into
// canonical Accounts, matched across systems by the domain of their
// e-mail address (a free-mail address gives no match), invoices into
// Orders with their lines, and charges that pay no invoice into Orders of
// their own; a charge of an invoice is left to the invoice's events.
// Orders refer to the customer's account. Amounts are minor units in
// the payments system and stay so; currencies are upper-cased; Unix
// seconds become timestamps.
//
// testdata holds sample webhooks written for sluice (one directory per
// event record) and, under testdata/golden, the canonical events each
// becomes; go test -update rewrites the golden files.
package payments

import "embed"

// Source is the source system's name, as integrations write it.
const Source = "payments"

//go:embed mapping.yaml
var files embed.FS

// Mapping returns the connector's default mapping (mapping.yaml).
func Mapping() []byte {
	b, err := files.ReadFile("mapping.yaml")
	if err != nil {
		panic("payments: mapping.yaml is not embedded: " + err.Error()) // cannot happen: go:embed checks at build time
	}
	return b
}
