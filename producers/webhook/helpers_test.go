package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry/registrytest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
	"github.com/sluicehq/sluice/producers/webhook"
)

// env is an ingress served over HTTP on the test's Kafka, Redis and
// schema registry, for a catalog of the test's own, whose integration ids
// are unique to the test run.
type env struct {
	t       testing.TB
	k       *testkit.Kafka
	r       *testkit.Redis
	catalog *config.Catalog
	serde   *avro.Serde
	in      *webhook.Ingress
	srv     *httptest.Server
	reg     *prometheus.Registry
	// ids maps the names used in the catalog text ("@crm@") to the
	// integration ids they became.
	ids map[string]string
	// secrets maps secret file names to their values.
	secrets map[string]string
	// registryCalls counts the requests to the schema registry.
	registryCalls atomic.Int64
	// registry is the schema registry's URL.
	registry string
}

// envConfig says how to build an env.
type envConfig struct {
	// catalog is sluice.yaml text; "@name@" stands for a unique
	// integration id and "file:NAME.secret" references are written from
	// secrets.
	catalog string
	secrets map[string]string
	// kgoOpts are added to the producer's options.
	kgoOpts []kgo.Opt
	// redis replaces the test Redis's client for the ingress.
	redis func(r *testkit.Redis) redis.UniversalClient
	opts  []webhook.Opt
	// kafka, when set, is used instead of testkit.NewKafka.
	kafka *testkit.Kafka
}

func newEnv(t testing.TB, c envConfig) *env {
	t.Helper()
	e := &env{t: t, ids: map[string]string{}, secrets: c.secrets, reg: prometheus.NewRegistry()}
	e.k = c.kafka
	if e.k == nil {
		e.k = testkit.NewKafka(t)
	}
	e.r = testkit.NewRedis(t)
	dir := t.TempDir()
	for name, v := range c.secrets {
		if err := os.WriteFile(filepath.Join(dir, name+".secret"), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	suffix := strings.ToLower(testkit.Name(t, "t"))
	src := c.catalog
	for {
		i := strings.IndexByte(src, '@')
		if i < 0 {
			break
		}
		j := strings.IndexByte(src[i+1:], '@')
		if j < 0 {
			t.Fatalf("unbalanced @ in the catalog")
		}
		name := src[i+1 : i+1+j]
		id := name + "." + suffix[len("t."):]
		if len(id) > 100 {
			id = id[len(id)-100:]
			id = strings.TrimLeft(id, ".-_")
		}
		e.ids[name] = id
		src = src[:i] + id + src[i+2+j:]
	}
	cat, err := config.Parse([]byte(src), dir)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	e.catalog = cat

	schemas, err := avro.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	url := registrytest.Start(t, e.k)
	e.registry = url
	target, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.registryCalls.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	src2, err := sr.NewClient(sr.URLs(counting.URL))
	if err != nil {
		t.Fatal(err)
	}
	e.serde, err = avro.NewSerde(src2, schemas)
	if err != nil {
		t.Fatal(err)
	}
	cl := e.k.Client(t, append(webhook.ProducerOpts(0, 0), c.kgoOpts...)...)
	rc := e.r.Client
	if c.redis != nil {
		rc = c.redis(e.r)
	}
	opts := append([]webhook.Opt{
		webhook.Prefix(e.r.Prefix),
		webhook.Logger(testkit.Logger(t)),
		webhook.Registerer(e.reg),
	}, c.opts...)
	e.in, err = webhook.New(cat, cl, rc, schemas, e.serde, opts...)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	ctx := testkit.Context(t, 60*time.Second)
	if err := e.in.Prepare(ctx); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if !e.in.Ready() {
		t.Fatal("not ready after Prepare")
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.in.Run(runCtx) }()
	e.srv = httptest.NewServer(e.in)
	t.Cleanup(func() {
		e.srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = e.in.Shutdown(sctx)
	})
	return e
}

// id returns the integration id of a catalog name.
func (e *env) id(name string) string {
	id, ok := e.ids[name]
	if !ok {
		e.t.Fatalf("no integration @%s@ in the catalog", name)
	}
	return id
}

// url returns the webhook URL of tenant and integration name.
func (e *env) url(tenant, name string) string {
	return e.srv.URL + "/v1/webhooks/" + tenant + "/" + e.id(name)
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// str returns a top-level string member of the JSON answer.
func (r response) str(key string) string {
	s, _ := r.json[key].(string)
	return s
}

// post sends body with the headers to url.
func (e *env) post(url, contentType string, h http.Header, body []byte) response {
	e.t.Helper()
	return e.do(http.MethodPost, url, contentType, h, body)
}

func (e *env) do(method, url, contentType string, h http.Header, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r
}

// records returns the records of an integration's topic (suffix "" or
// ".invalid").
func (e *env) records(name, suffix string) []*kgo.Record {
	e.t.Helper()
	return e.k.Records(e.t, kafka.InTopic(e.id(name))+suffix)
}

// decode decodes a record of an integration's topic.
func (e *env) decode(r *kgo.Record) map[string]any {
	e.t.Helper()
	m, err := e.serde.DecodeNative(context.Background(), r.Value)
	if err != nil {
		e.t.Fatalf("decode %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
	}
	return m
}

// counter returns the sum of the counters (or histogram counts) whose
// labels include labels, 0 when there is none.
func (e *env) counter(name string, labels map[string]string) float64 {
	e.t.Helper()
	return testkit.Metric(e.t, e.reg, name, labels)
}

// header returns a record header's value.
func header(r *kgo.Record, key string) string { return kafka.Header(r, key) }

// randHex returns n random bytes in hex.
func randHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// whsec returns a new Standard Webhooks secret.
func whsec(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// contact is a CRM contact webhook body that validates against
// sluice.source.crm.ContactEvent; tag makes it unique.
func contact(tag string) []byte {
	return []byte(`{"type":"contact.created","timestamp":"2026-03-02T09:00:00.123456Z","data":{"id":"` + tag +
		`","properties":{"email":"grace-` + tag + `@example.com","lifecyclestage":"lead"},"updatedAt":"2026-03-02T09:00:00Z"}}`)
}

// The signers below compute each scheme's signature from its published
// description with crypto/hmac, independently of the connectors.

func mac(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// signStandard signs as Standard Webhooks v1: base64 HMAC-SHA256 with the
// base64-decoded whsec_ key over "{id}.{ts}.{body}".
func signStandard(t testing.TB, secret, id string, ts time.Time, body []byte) http.Header {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	tsText := strconv.FormatInt(ts.Unix(), 10)
	sig := mac(sha256.New, key, []byte(id+"."+tsText+"."), body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", tsText)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(sig))
	return h
}

// signStripe signs as Stripe: hex HMAC-SHA256 with the secret as is over
// "{t}.{body}".
func signStripe(secret string, ts time.Time, body []byte) http.Header {
	tsText := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("Stripe-Signature", "t="+tsText+",v1="+hex.EncodeToString(mac(sha256.New, []byte(secret), []byte(tsText+"."), body)))
	return h
}

// signGitHub signs as GitHub: "sha256=" and the hex HMAC-SHA256 of the
// body.
func signGitHub(secret, delivery, event string, body []byte) http.Header {
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac(sha256.New, []byte(secret), body)))
	h.Set("X-GitHub-Delivery", delivery)
	h.Set("X-GitHub-Event", event)
	return h
}

// signShopify signs as Shopify: the base64 HMAC-SHA256 of the body.
func signShopify(secret, webhookID, topic string, body []byte) http.Header {
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac(sha256.New, []byte(secret), body)))
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Topic", topic)
	return h
}

// signSlack signs as Slack: "v0=" and the hex HMAC-SHA256 over
// "v0:{ts}:{body}".
func signSlack(secret string, ts time.Time, body []byte) http.Header {
	tsText := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", tsText)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac(sha256.New, []byte(secret), []byte("v0:"+tsText+":"), body)))
	return h
}

// signHMAC512 signs as the generic hmac scheme configured with header
// X-Signature, sha512, base64, prefix "sha512=", timestamp header
// X-Timestamp and separator ":".
func signHMAC512(secret string, ts time.Time, body []byte) http.Header {
	tsText := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("X-Timestamp", tsText)
	h.Set("X-Signature", "sha512="+base64.StdEncoding.EncodeToString(mac(sha512.New, []byte(secret), []byte(tsText+":"), body)))
	return h
}
