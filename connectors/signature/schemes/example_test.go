package schemes_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/schemes"
)

func ExampleNew() {
	v, err := schemes.New(schemes.Config{
		Scheme:  "github",
		Secrets: []string{"a new secret", "It's a Secret to Everybody"},
	})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	res, err := v.Verify(signature.Request{Header: h, Body: []byte("Hello, World!")}, time.Now())
	fmt.Println(res.Scheme, res.DeliveryID, res.SecretIndex, err)

	_, err = v.Verify(signature.Request{Header: h, Body: []byte("Hello, World?")}, time.Now())
	fmt.Println(err)
	// Output:
	// github 72d3162e-cc78-11e3-81ab-4c9367dc0958 1 <nil>
	// signature: no signature matched: X-Hub-Signature-256: no signature matches the body with any of the 2 active secrets
}
