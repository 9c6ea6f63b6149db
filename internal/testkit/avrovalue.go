package testkit

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// decimalText is a decimal or a fraction written as text: how decoders
// show an Avro decimal ("1250000.5", sluice's "2500001/2").
var decimalText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+|/[0-9]+)?$`)

// AvroValue normalizes a decoded Avro value given as JSON values (sluice's
// decoding marshalled to JSON, or what a client printed), so that decoders
// that show the same data differently compare equal: a time (RFC 3339)
// becomes its instant, a decimal its exact value, a union branch wrapped
// in an object named for its type (sluice's native form, "sluice.…") the
// branch itself, and nulls, empty lists and empty maps are dropped. Both
// sides of a comparison go through it.
func AvroValue(x any) any {
	switch x := x.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, v := range x {
				if strings.HasPrefix(k, "sluice.") {
					return AvroValue(v)
				}
			}
		}
		for k, v := range x {
			if v = AvroValue(v); v == nil {
				delete(x, k)
			} else {
				x[k] = v
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		for i := range x {
			x[i] = AvroValue(x[i])
		}
		if len(x) == 0 {
			return nil
		}
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "instant " + strconv.FormatInt(t.UnixNano(), 10)
		}
		if decimalText.MatchString(x) {
			if r, ok := new(big.Rat).SetString(x); ok {
				return "decimal " + r.RatString()
			}
		}
	}
	return x
}

// JSONValues returns v marshalled to JSON and read back as JSON values
// (maps, slices, strings, float64s, bools, nils), the form AvroValue
// takes.
func JSONValues(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	return x
}
