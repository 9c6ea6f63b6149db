package support_test

import (
	"flag"
	"testing"

	"github.com/sluicehq/sluice/connectors/support"
	"github.com/sluicehq/sluice/consumers/transform/transformtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestConformance(t *testing.T) {
	t.Parallel()
	transformtest.Conformance(t, transformtest.Connector{Source: support.Source, Mapping: support.Mapping(), Dir: "testdata", Update: *update})
}
