package webhook_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/connectors/webhook"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   webhook.Verdict
	}{
		{200, webhook.Delivered}, {201, webhook.Delivered}, {204, webhook.Delivered}, {299, webhook.Delivered},
		{301, webhook.Retry}, {302, webhook.Retry}, {307, webhook.Retry}, {308, webhook.Retry},
		{400, webhook.Reject}, {401, webhook.Reject}, {403, webhook.Reject}, {404, webhook.Reject}, {413, webhook.Reject}, {422, webhook.Reject},
		{408, webhook.Retry}, {425, webhook.Retry}, {429, webhook.Retry},
		{410, webhook.Gone},
		{500, webhook.Retry}, {502, webhook.Retry}, {503, webhook.Retry}, {504, webhook.Retry}, {599, webhook.Retry},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			if got := webhook.Classify(tc.status); got != tc.want {
				t.Errorf("Classify(%d) = %s, want %s", tc.status, got, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, value string
		want        time.Duration
	}{
		{"empty", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"spaces", " 7 ", 7 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"garbage", "soon", 0},
		{"fraction", "1.5", 0},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"past date", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"absurd seconds are capped at a year", "99999999999999", 365 * 24 * time.Hour},
		{"seconds beyond int64 are capped at a year", "99999999999999999999999", 365 * 24 * time.Hour},
		{"a sign is no delay-seconds", "+5", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := webhook.ParseRetryAfter(tc.value, now); got != tc.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

func TestMessageID(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		kept     bool
	}{
		{"plain", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", true},
		{"uuid", "7c9e6679-7425-40de-944b-e07fc1f90ae7", true},
		{"with colon and slash", "crm:contact/123", true},
		{"full stop", "evt.123", false},
		{"space", "evt 123", false},
		{"non-ascii", "évé", false},
		{"empty", "", false},
		{"too long", strings.Repeat("a", 257), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := webhook.MessageID(tc.id)
			if !webhook.ValidMessageID(got) {
				t.Fatalf("MessageID(%q) = %q is not valid", tc.id, got)
			}
			if (got == tc.id) != tc.kept {
				t.Errorf("MessageID(%q) = %q, kept %v, want kept %v", tc.id, got, got == tc.id, tc.kept)
			}
			if again := webhook.MessageID(tc.id); again != got {
				t.Errorf("MessageID is not deterministic: %q then %q", got, again)
			}
		})
	}
	if webhook.MessageID("a.b") == webhook.MessageID("a.c") {
		t.Error("two event ids derived the same message id")
	}
}

func TestForbidden(t *testing.T) {
	for _, tc := range []struct {
		addr string
		bad  bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"fd00:ec2::254", true}, {"fc00::1", true},
		{"100.64.0.1", true}, {"100.100.100.200", true},
		{"0.0.0.0", true}, {"::", true}, {"224.0.0.1", true}, {"ff02::1", true}, {"255.255.255.255", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::a9fe:a9fe", true},
		{"2002:7f00:1::1", true}, {"2002:a9fe:a9fe::", true}, {"2002:c0a8:101:1::1", true},
		{"::7f00:1", true}, {"::a00:1", true}, {"64:ff9b:1::a00:1", true}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
		{"2606:4700:4700::1111", false}, {"::ffff:8.8.8.8", false}, {"64:ff9b::808:808", false},
		{"2002:808:808::1", false}, {"2001:4860:4860::8888", false},
		// A zone changes nothing: netip's prefixes contain no zoned
		// address, and the kernel ignores the zone of a global one.
		{"64:ff9b::a00:1%1", true}, {"64:ff9b::a9fe:a9fe%eth0", true}, {"64:ff9b:1::a00:1%1", true},
		{"::a00:1%1", true}, {"2002:a00:1::%1", true}, {"fe80::1%eth0", true}, {"::1%lo", true},
		{"::ffff:10.0.0.1%1", true}, {"fd00::1%2", true}, {"2001:db8::1%1", true},
		{"2606:4700:4700::1111%1", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			bad, why := webhook.Forbidden(netip.MustParseAddr(tc.addr))
			if bad != tc.bad {
				t.Errorf("Forbidden(%s) = %v (%s), want %v", tc.addr, bad, why, tc.bad)
			}
			if bad && why == "" {
				t.Errorf("Forbidden(%s) gives no reason", tc.addr)
			}
		})
	}
}

// receiver is a test endpoint that records the last request.
type receiver struct {
	srv     *httptest.Server
	hits    atomic.Int64
	last    atomic.Pointer[signature.Request]
	target  atomic.Pointer[string] // the last request's Host and request URI
	respond func(w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := signature.ReadRequest(r, 0)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		rc.last.Store(&req)
		target := r.Host + r.URL.RequestURI()
		rc.target.Store(&target)
		rc.hits.Add(1)
		if rc.respond != nil {
			rc.respond(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func newClient(t *testing.T, url string, secrets []string, opts ...webhook.Opt) *webhook.Client {
	t.Helper()
	c, err := webhook.New(url, secrets, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestSendIsVerifiableWithEverySecret(t *testing.T) {
	old, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := standardwebhooks.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	sk, pk, err := standardwebhooks.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	c := newClient(t, rc.srv.URL+"/hooks?token=x", []string{cur, old, sk}, webhook.AllowPrivateNetwork(true))
	body := []byte(`{"type":"contact.updated","data":{"id":"c1"}}`)
	res := c.Send(context.Background(), webhook.Message{ID: "evt_1", Body: body})
	if res.Verdict != webhook.Delivered || res.Status != http.StatusNoContent || res.Err != nil {
		t.Fatalf("Send = %+v", res)
	}
	req := rc.last.Load()
	if string(req.Body) != string(body) {
		t.Errorf("body %q, want %q", req.Body, body)
	}
	if got, want := *rc.target.Load(), strings.TrimPrefix(rc.srv.URL, "http://")+"/hooks?token=x"; got != want {
		t.Errorf("sent to %s, want %s", got, want)
	}
	for _, h := range []struct{ name, want string }{
		{"Webhook-Id", "evt_1"}, {"Idempotency-Key", "evt_1"}, {"Content-Type", "application/json"}, {"User-Agent", "sluice-webhooks/1"},
	} {
		if got := req.Header.Get(h.name); got != h.want {
			t.Errorf("header %s = %q, want %q", h.name, got, h.want)
		}
	}
	for _, tc := range []struct {
		name   string
		secret string
	}{
		{"current whsec", cur},
		{"previous whsec during a rotation", old},
		{"whpk public key of the whsk secret key", pk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := standardwebhooks.New([]string{tc.secret})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(*req, time.Now())
			if err != nil {
				t.Fatalf("receiver holding %s refuses: %v", tc.name, err)
			}
			if res.DeliveryID != "evt_1" || res.EventType != "contact.updated" {
				t.Errorf("verified %+v", res)
			}
		})
	}
	t.Run("another secret is refused", func(t *testing.T) {
		other, _ := standardwebhooks.GenerateSecret()
		v, err := standardwebhooks.New([]string{other})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(*req, time.Now()); !errors.Is(err, signature.ErrNoMatch) {
			t.Errorf("a stranger's secret verified: %v", err)
		}
	})
}

func TestSendAnswers(t *testing.T) {
	secret, _ := standardwebhooks.GenerateSecret()
	long := strings.Repeat("no such account\n", 100)
	for _, tc := range []struct {
		name       string
		respond    func(w http.ResponseWriter, r *http.Request)
		verdict    webhook.Verdict
		status     int
		retryAfter time.Duration
		bodyHas    string
		errHas     string
	}{
		{"2xx", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(202) }, webhook.Delivered, 202, 0, "", ""},
		{"503 with retry-after", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(503)
		}, webhook.Retry, 503, 30 * time.Second, "", ""},
		{"429", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
		}, webhook.Retry, 429, 2 * time.Second, "", ""},
		{"redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				t.Error("the redirect was followed")
			}
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, webhook.Retry, 302, 0, "", ""},
		{"410 gone", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(410) }, webhook.Gone, 410, 0, "", ""},
		{"400 with a long body", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, long)
		}, webhook.Reject, 400, 0, "no such account no such account", ""},
		{"connection reset", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}, webhook.Retry, 0, 0, "", "webhook: "},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, webhook.Retry, 0, 0, "", "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, tc.respond)
			c := newClient(t, rc.srv.URL, []string{secret}, webhook.AllowPrivateNetwork(true), webhook.Timeout(300*time.Millisecond))
			res := c.Send(context.Background(), webhook.Message{ID: "evt_2", Body: []byte(`{}`)})
			if res.Verdict != tc.verdict || res.Status != tc.status || res.RetryAfter != tc.retryAfter {
				t.Fatalf("Send = %+v, want %s %d retry-after %v", res, tc.verdict, tc.status, tc.retryAfter)
			}
			if len(res.Body) > 256 || !strings.Contains(res.Body, tc.bodyHas) || strings.ContainsAny(res.Body, "\n\r") {
				t.Errorf("body %q (len %d), want at most 256 printable bytes holding %q", res.Body, len(res.Body), tc.bodyHas)
			}
			if tc.errHas == "" && res.Err != nil {
				t.Errorf("error %v", res.Err)
			}
			if tc.errHas != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.errHas)) {
				t.Errorf("error %v, want one saying %q", res.Err, tc.errHas)
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), rc.srv.URL) {
				t.Errorf("the error names the URL: %v", res.Err)
			}
		})
	}
}

func TestPrivateAddressesRefused(t *testing.T) {
	secret, _ := standardwebhooks.GenerateSecret()
	rc := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	dns := startDNS(t, netip.MustParseAddr("127.0.0.1"))
	for _, tc := range []struct {
		name    string
		url     string
		allow   bool
		verdict webhook.Verdict
	}{
		{"loopback literal refused", rc.srv.URL, false, webhook.Reject},
		{"localhost refused", "http://localhost:" + port, false, webhook.Reject},
		{"a public-looking name resolving to loopback refused (DNS rebinding)", "http://hooks.partner.example:" + port, false, webhook.Reject},
		{"metadata address refused", "http://169.254.169.254/latest/meta-data", false, webhook.Reject},
		{"private IPv4 through NAT64 with a zone refused", "http://[64:ff9b::a00:1%251]:" + port, false, webhook.Reject},
		{"loopback allowed when allow-listed", rc.srv.URL, true, webhook.Delivered},
		{"the custom resolver is what the dialer asks", "http://hooks.partner.example:" + port, true, webhook.Delivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := rc.hits.Load()
			c := newClient(t, tc.url, []string{secret}, webhook.AllowPrivateNetwork(tc.allow), webhook.Resolver(dns), webhook.Timeout(2*time.Second))
			res := c.Send(context.Background(), webhook.Message{ID: "evt_3", Body: []byte(`{}`)})
			if res.Verdict != tc.verdict {
				t.Fatalf("Send = %+v, want %s", res, tc.verdict)
			}
			if tc.verdict == webhook.Reject {
				if !errors.Is(res.Err, webhook.ErrForbiddenAddress) {
					t.Errorf("error %v, want ErrForbiddenAddress", res.Err)
				}
				if rc.hits.Load() != before {
					t.Error("the refused request reached the receiver")
				}
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	secret, _ := standardwebhooks.GenerateSecret()
	_, pk, _ := standardwebhooks.GenerateKeyPair()
	for _, tc := range []struct {
		name    string
		url     string
		secrets []string
		opts    []webhook.Opt
	}{
		{"not a URL", "://", []string{secret}, nil},
		{"ftp", "ftp://example.com/x", []string{secret}, nil},
		{"credentials in the URL", "https://user:pw@example.com/x", []string{secret}, nil},
		{"no secret", "https://example.com/x", nil, nil},
		{"a public key cannot sign", "https://example.com/x", []string{pk}, nil},
		{"zero timeout", "https://example.com/x", []string{secret}, []webhook.Opt{webhook.Timeout(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.New(tc.url, tc.secrets, tc.opts...)
			if !errors.Is(err, webhook.ErrConfig) {
				t.Errorf("New = %v, want ErrConfig", err)
			}
		})
	}
}

// startDNS serves DNS over UDP on loopback, answering every A query with
// addr, and returns a resolver that asks it.
func startDNS(t *testing.T, addr netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], addr); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", pc.LocalAddr().String())
		},
	}
}

// dnsAnswer answers a one-question query: with addr for type A, with no
// records for any other type.
func dnsAnswer(q []byte, addr netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	if i+5 > len(q) {
		return nil
	}
	question := q[12 : i+5]
	qtype := binary.BigEndian.Uint16(q[i+1:])
	resp := make([]byte, 12, 64)
	copy(resp, q[:2])
	resp[2], resp[3] = 0x81, 0x80 // response, recursion desired and available
	binary.BigEndian.PutUint16(resp[4:], 1)
	resp = append(resp, question...)
	if qtype == 1 {
		binary.BigEndian.PutUint16(resp[6:], 1)
		a := addr.As4()
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, a[:]...)
	}
	return resp
}

// TestResetIsOneAttempt checks that a request reset on a reused
// connection is not sent again behind the caller's back: one Send, one
// request.
func TestResetIsOneAttempt(t *testing.T) {
	secret, _ := standardwebhooks.GenerateSecret()
	var rc *receiver
	rc = newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if rc.hits.Load() == 1 {
			w.WriteHeader(http.StatusOK)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	c := newClient(t, rc.srv.URL, []string{secret}, webhook.AllowPrivateNetwork(true))
	if res := c.Send(context.Background(), webhook.Message{ID: "evt_a", Body: []byte(`{}`)}); res.Verdict != webhook.Delivered {
		t.Fatalf("first Send = %+v", res)
	}
	res := c.Send(context.Background(), webhook.Message{ID: "evt_b", Body: []byte(`{}`)})
	if res.Verdict != webhook.Retry || res.Err == nil {
		t.Fatalf("Send over a reset connection = %+v, want a retryable failure", res)
	}
	if got := rc.hits.Load(); got != 2 {
		t.Errorf("the receiver saw %d requests for 2 Sends: the reset request was sent again", got)
	}
}
