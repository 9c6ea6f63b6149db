package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/producers/webhook"
)

// produceCounter counts the records handed to the producer.
type produceCounter struct{ n atomic.Int64 }

func (c *produceCounter) OnProduceRecordBuffered(*kgo.Record) { c.n.Add(1) }

// FuzzIngress sends arbitrary requests through the handler: paths,
// content types, signature headers and bodies, signed correctly or not.
// The handler must never panic, always answer with JSON, never answer
// 500, and never hand a record to the producer for a request that was not
// signed.
func FuzzIngress(f *testing.F) {
	counter := &produceCounter{}
	e := newBaseEnv(f, envConfig{
		kgoOpts: []kgo.Opt{kgo.WithHooks(counter)},
		opts:    []webhook.Opt{webhook.Logger(zap.NewNop()), webhook.ProduceWait(5 * time.Second)},
	})
	names := []string{"crm", "quarantine", "limited", "off", "outbox"}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = e.ids[n]
	}
	paths = append(paths, "nothing")
	secret := e.secrets["crm"]

	valid := contact("fuzz")
	f.Add("acme", uint8(0), false, "application/json", "msg_1", "", "", valid, true)
	f.Add("acme", uint8(0), false, "application/json", "msg_1", "1700000000", "v1,AAAA", valid, false)
	f.Add("acme", uint8(0), true, "application/x-ndjson", "msg_2", "", "", []byte(string(valid)+"\n"+badContact+"\n"), true)
	f.Add("acme", uint8(1), true, "application/json", "msg_3", "", "", []byte("["+badContact+"]"), true)
	f.Add("acme", uint8(0), false, "application/json; charset=latin1", "msg.4 x", "", "", []byte(`{"type":1}`), true)
	f.Add("acme", uint8(0), false, "application/json", "", "99999999999999", "v1,"+strings.Repeat("=", 44), []byte(`[`), false)
	f.Add("nobody", uint8(5), false, "text/plain", "x", "x", "x", []byte{0xff, 0x00}, false)
	f.Add("globex", uint8(2), true, "application/json", "msg_5", "", "", []byte(`[{"type":"contact.created"},{}]`), true)

	f.Fuzz(func(t *testing.T, tenant string, integration uint8, batch bool, contentType, id, ts, sig string, body []byte, sign bool) {
		url := "http://ingress/v1/webhooks/" + tenant + "/" + paths[int(integration)%len(paths)]
		if batch {
			url += "/batch"
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Skip("not a URL")
		}
		req.Header.Set("Content-Type", contentType)
		if sign {
			signed := signStandard(t, secret, id, time.Now(), body)
			for k, v := range signed {
				req.Header[k] = v
			}
		} else {
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", ts)
			req.Header.Set("webhook-signature", sig)
		}
		before := counter.n.Load()
		rec := httptest.NewRecorder()
		e.in.ServeHTTP(rec, req)

		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("500: %s", rec.Body.Bytes())
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", rec.Body.Bytes())
		}
		if !sign {
			if rec.Code < 300 {
				t.Fatalf("unsigned request answered %d: %s", rec.Code, rec.Body.Bytes())
			}
			if n := counter.n.Load(); n != before {
				t.Fatalf("unsigned request handed %d records to the producer", n-before)
			}
		}
	})
}
