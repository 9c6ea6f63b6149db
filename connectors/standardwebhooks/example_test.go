package standardwebhooks_test

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
)

// A sender signs with the current and the previous secret during a
// rotation; a receiver holding either accepts.
func ExampleSigner_Sign() {
	signer, err := standardwebhooks.NewSigner([]string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=",
	})
	if err != nil {
		panic(err)
	}
	at := time.Unix(1614265330, 0)
	signed, err := signer.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", at, []byte(`{"test": 2432232314}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(signed.ID)
	fmt.Println(signed.Timestamp)
	fmt.Println(signed.Signature)
	// Output:
	// msg_p5jXN8AQM9LWM0D4loKWxJek
	// 1614265330
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==
}

func ExampleVerifier_Verify() {
	v, err := standardwebhooks.New([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		panic(err)
	}
	req := signature.Request{Body: []byte(`{"test": 2432232314}`)}
	req.Header = map[string][]string{
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	res, err := v.Verify(req, time.Unix(1614265330, 0).Add(time.Minute))
	fmt.Println(res.DeliveryID, err)

	_, err = v.Verify(req, time.Unix(1614265330, 0).Add(time.Hour))
	fmt.Println(signature.Code(err), signature.HTTPStatus(err))
	fmt.Println(err)
	// Output:
	// msg_p5jXN8AQM9LWM0D4loKWxJek <nil>
	// timestamp_out_of_tolerance 401
	// signature: timestamp out of tolerance: webhook-timestamp: 1h0m0s in the past, beyond the tolerance of 5m0s
}
