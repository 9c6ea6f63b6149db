package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/connectors/webhook"
)

// BenchmarkSend measures Client.Send to a local endpoint that answers 200
// at once, 16 requests in flight, beside the baseline of a plain net/http
// client signing and sending the same request with the same headers in
// the same run. The difference is what the client adds: the address
// check at dial time only, a timeout per request, reading the start of
// the answer.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	secret, _ := standardwebhooks.GenerateSecret()
	body := bytes.Repeat([]byte("x"), 400)
	b.Run("baseline-net-http", func(b *testing.B) {
		signer, _ := standardwebhooks.NewSigner([]string{secret})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, MaxIdleConns: 16}}
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				signed, _ := signer.Sign("msg_1", time.Now(), body)
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				signed.Set(req.Header)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "sluice-webhooks/1")
				req.Header["idempotency-key"] = []string{"msg_1"}
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
	b.Run("send", func(b *testing.B) {
		c, err := webhook.New(srv.URL, []string{secret}, webhook.AllowPrivateNetwork(true))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if res := c.Send(ctx, webhook.Message{ID: "msg_1", Body: body}); res.Verdict != webhook.Delivered {
					b.Errorf("%+v", res)
					return
				}
			}
		})
	})
}
