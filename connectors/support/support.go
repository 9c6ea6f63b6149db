// Package support is the source connector of the example support desk, a
// Zendesk-like help desk whose event webhooks ({id, type, time, detail,
// event}) describe a ticket after each change (contracts in
// avro/schemas/source/support).
//
// Its mapping (mapping.yaml, compiled into sluice) turns every ticket
// event into a canonical Ticket: its status, priority and type, its
// channel, tags and times. The requester and the organisation are desk
// ids that no event of this source describes: they become references by
// external id, so the ticket's requester_id and account_id are the
// canonical ids the identity map gives those desk ids, the same for every
// ticket of one requester. The time of a change to SOLVED becomes
// solved_at.
//
// testdata holds sample webhooks written for sluice and, under
// testdata/golden, the canonical events each becomes; go test -update
// rewrites the golden files.
package support

import "embed"

// Source is the source system's name, as integrations write it.
const Source = "support"

//go:embed mapping.yaml
var files embed.FS

// Mapping returns the connector's default mapping (mapping.yaml).
func Mapping() []byte {
	b, err := files.ReadFile("mapping.yaml")
	if err != nil {
		panic("support: mapping.yaml is not embedded: " + err.Error()) // cannot happen: go:embed checks at build time
	}
	return b
}
