package commerce_test

import (
	"flag"
	"testing"

	"github.com/sluicehq/sluice/connectors/commerce"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestConformance(t *testing.T) {
	t.Parallel()
	transformtest.Conformance(t, transformtest.Connector{Source: commerce.Source, Mapping: commerce.Mapping(), Dir: "testdata", Update: *update})
}
