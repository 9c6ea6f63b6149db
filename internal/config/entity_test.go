package config

import (
	"strings"
	"testing"
)

const withEntity = `version: 1
tenants:
  - id: acme
    hot_sub_keys: 8
integrations:
  - id: crm
    kind: webhook
    source: crm
    signature:
      scheme: github
      secrets: [env:CRM_SECRET]
    contract:
      entity_id: ENTITY
      events:
        - type: "*"
          record: sluice.source.crm.ContactEvent
`

func TestContractEntityID(t *testing.T) {
	tests := []struct {
		name   string
		entity string
		want   FieldRef
		err    string
	}{
		{"json path", "{json: data.id}", FieldRef{JSON: "data.id"}, ""},
		{"header", "{header: X-Entity-Id}", FieldRef{Header: "X-Entity-Id"}, ""},
		{"neither", "{}", FieldRef{}, "integrations[0].contract.entity_id: expected header or json"},
		{"both", "{header: X-Entity-Id, json: id}", FieldRef{}, "integrations[0].contract.entity_id: expected header or json, not both"},
		{"bad header", "{header: 'X Entity'}", FieldRef{}, `integrations[0].contract.entity_id.header: expected an HTTP header name; got "X Entity"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(strings.Replace(withEntity, "ENTITY", tt.entity, 1)), "")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v; want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in, _ := c.Integration("crm")
			if got := in.Contract.EntityID; got == nil || *got != tt.want {
				t.Fatalf("entity_id = %+v; want %+v", got, tt.want)
			}
		})
	}
}
