// Package crm is the source connector of the example CRM, a HubSpot-like
// system that sends contact and company webhooks signed with Standard
// Webhooks ({type, timestamp, data} bodies; contracts in
// avro/schemas/source/crm).
//
// Its mapping (mapping.yaml, compiled into sluice) turns contacts into
// canonical Contacts, matched across systems by e-mail address, and
// companies into Accounts, matched by domain (from the company's domain
// or, failing that, its website). A contact's first associated company
// becomes its account_id. The CRM's lifecycle stages map to the
// canonical lifecycle stage of a contact and to the status of an
// account; its e-mail opt-out becomes the canonical opt-in, negated.
// Revenue has no currency in the webhook: the mapping assumes the CRM
// account works in USD, which an integration whose CRM does not can
// change in a mapping of its own.
//
// testdata holds sample webhooks written for sluice (one directory per
// event record) and, under testdata/golden, the canonical events each
// becomes; go test -update rewrites the golden files.
package crm

import "embed"

// Source is the source system's name, as integrations write it.
const Source = "crm"

//go:embed mapping.yaml
var files embed.FS

// Mapping returns the connector's default mapping (mapping.yaml).
func Mapping() []byte {
	b, err := files.ReadFile("mapping.yaml")
	if err != nil {
		panic("crm: mapping.yaml is not embedded: " + err.Error()) // cannot happen: go:embed checks at build time
	}
	return b
}
