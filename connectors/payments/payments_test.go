package payments_test

import (
	"flag"
	"testing"

	"github.com/sluicehq/sluice/connectors/payments"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestConformance(t *testing.T) {
	t.Parallel()
	transformtest.Conformance(t, transformtest.Connector{Source: payments.Source, Mapping: payments.Mapping(), Dir: "testdata", Update: *update})
}
