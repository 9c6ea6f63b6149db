package crm_test

import (
	"flag"
	"testing"

	"github.com/sluicehq/sluice/connectors/crm"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestConformance(t *testing.T) {
	t.Parallel()
	transformtest.Conformance(t, transformtest.Connector{Source: crm.Source, Mapping: crm.Mapping(), Dir: "testdata", Update: *update})
}
