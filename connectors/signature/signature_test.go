package signature_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

func TestCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"missing", signature.Missing("X-A"), signature.CodeMissingHeader},
		{"malformed", signature.Malformed("X-A", "bad"), signature.CodeMalformedHeader},
		{"no match", signature.NoMatch("X-A", 2), signature.CodeNoMatch},
		{"stale", signature.CheckTimestamp("X-T", time.Unix(0, 0), time.Unix(1000, 0), time.Minute), signature.CodeTimestampOutOfTolerance},
		{"too large", signature.CheckBody(make([]byte, 3), 2), signature.CodeBodyTooLarge},
		{"bad secret", signature.BadSecret(1, "bad"), signature.CodeBadSecret},
		{"no secrets", signature.NoSecrets(), signature.CodeBadSecret},
		{"bad config", fmt.Errorf("%w: x", signature.ErrBadConfig), signature.CodeBadConfig},
		{"wrapped", fmt.Errorf("ingress: %w", signature.Missing("X-A")), signature.CodeMissingHeader},
		{"foreign", errors.New("boom"), "unknown"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if got := signature.Code(tt.err); got != tt.want {
				t.Errorf("Code(%v) = %q; want %q", tt.err, got, tt.want)
			}
			status := map[string]int{
				"":                                    http.StatusOK,
				signature.CodeMissingHeader:           http.StatusUnauthorized,
				signature.CodeMalformedHeader:         http.StatusUnauthorized,
				signature.CodeNoMatch:                 http.StatusUnauthorized,
				signature.CodeTimestampOutOfTolerance: http.StatusUnauthorized,
				signature.CodeBodyTooLarge:            http.StatusRequestEntityTooLarge,
				signature.CodeBadSecret:               http.StatusInternalServerError,
				signature.CodeBadConfig:               http.StatusInternalServerError,
				"unknown":                             http.StatusInternalServerError,
			}[tt.want]
			if got := signature.HTTPStatus(tt.err); got != status {
				t.Errorf("HTTPStatus(%v) = %d; want %d", tt.err, got, status)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"missing", signature.Missing("X-Hub-Signature-256"), "signature: missing header: X-Hub-Signature-256"},
		{"malformed", signature.Malformed("Stripe-Signature", "no t= timestamp"), "signature: malformed header: Stripe-Signature: no t= timestamp"},
		{"no match, one secret", signature.NoMatch("X-S", 1), "signature: no signature matched: X-S: the signature does not match the body with the active secret"},
		{"no match, two secrets", signature.NoMatch("X-S", 2), "signature: no signature matched: X-S: no signature matches the body with any of the 2 active secrets"},
		{"bad secret", signature.BadSecret(2, "not base64"), "signature: bad secret: secret 2: not base64"},
		{"stale", signature.CheckTimestamp("X-T", time.Unix(1000, 0), time.Unix(1000+361, 0), 5*time.Minute), "signature: timestamp out of tolerance: X-T: 6m1s in the past, beyond the tolerance of 5m0s"},
		{"future", signature.CheckTimestamp("X-T", time.Unix(1000+301, 0), time.Unix(1000, 0), 5*time.Minute), "signature: timestamp out of tolerance: X-T: 5m1s in the future, beyond the tolerance of 5m0s"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Errorf("message %v; want %q", tt.err, tt.want)
			}
		})
	}
	var he *signature.HeaderError
	if !errors.As(signature.Missing("X-A"), &he) || he.Header != "X-A" {
		t.Errorf("Missing is not a HeaderError naming the header")
	}
}

func TestParseUnix(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1767225600", 1767225600, true},
		{"001767225600", 1767225600, true},
		{"999999999999", 999999999999, true},
		{"", 0, false},
		{"1000000000000", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5", 0, false},
		{"1e9", 0, false},
		{" 1", 0, false},
		{"١٢٣", 0, false},
	}
	for _, tt := range cases {
		t.Run(tt.in, func(t *testing.T) {
			got, err := signature.ParseUnix("X-T", tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ParseUnix(%q) error %v; want ok=%v", tt.in, err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, signature.ErrMalformedHeader) || strings.Contains(err.Error(), tt.in) && tt.in != "" {
					t.Errorf("error %q: want malformed, not quoting the value", err)
				}
				return
			}
			if got.Unix() != tt.want {
				t.Errorf("ParseUnix(%q) = %d; want %d", tt.in, got.Unix(), tt.want)
			}
		})
	}
}

func TestCheckTimestamp(t *testing.T) {
	ts := time.Unix(1767225600, 0)
	tol := 5 * time.Minute
	cases := []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"same second", ts, true},
		{"same second, later fraction", ts.Add(999 * time.Millisecond), true},
		{"tolerance later", ts.Add(tol), true},
		{"tolerance later and a fraction", ts.Add(tol + 999*time.Millisecond), true},
		{"a second past the tolerance", ts.Add(tol + time.Second), false},
		{"tolerance earlier", ts.Add(-tol), true},
		{"a second before the tolerance", ts.Add(-tol - time.Second), false},
		{"far future now", time.Unix(1<<40, 0), false},
		{"zero time now", time.Time{}, false},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.CheckTimestamp("X-T", ts, tt.now, tol)
			if tt.ok != (err == nil) {
				t.Fatalf("error %v; want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, signature.ErrTimestampOutOfTolerance) {
				t.Errorf("error %v; want ErrTimestampOutOfTolerance", err)
			}
		})
	}
}

func TestHeaderLookup(t *testing.T) {
	h := http.Header{}
	h.Set("X-Signature", "  abc\t")
	h["x-lower"] = []string{"low"}
	h["X-Twice"] = []string{"first", "second"}
	h.Set("X-Huge", strings.Repeat("a", signature.MaxHeaderBytes+1))
	h.Set("X-Empty", "")
	cases := []struct {
		name, header string
		want         string
		err          error
	}{
		{"canonical, trimmed", "x-signature", "abc", nil},
		{"stored lower case", "X-Lower", "low", nil},
		{"first of several", "X-Twice", "first", nil},
		{"absent", "X-None", "", signature.ErrMissingHeader},
		{"empty", "X-Empty", "", signature.ErrMissingHeader},
		{"too long", "X-Huge", "", signature.ErrMalformedHeader},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := signature.Value(h, tt.header)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("Value(%s) = %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.err)
			}
			if opt := signature.Optional(h, tt.header); opt != tt.want {
				t.Errorf("Optional(%s) = %q; want %q", tt.header, opt, tt.want)
			}
		})
	}
}

func TestReadRequest(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		chunked bool
		max     int64
		err     error
	}{
		{"under the limit", "hello", false, 10, nil},
		{"at the limit", "0123456789", false, 10, nil},
		{"over the limit", "0123456789a", false, 10, signature.ErrBodyTooLarge},
		{"over the limit, no length", "0123456789a", true, 10, signature.ErrBodyTooLarge},
		{"at the limit, no length", "0123456789", true, 10, nil},
		{"empty", "", false, 10, nil},
		{"default limit", "x", false, 0, nil},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			r := httptest.NewRequest(http.MethodPost, "/hook", body)
			r.Header.Set("X-Sig", "s")
			req, err := signature.ReadRequest(r, tt.max)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error %v; want %v", err, tt.err)
			}
			if err == nil && (string(req.Body) != tt.body || req.Header.Get("X-Sig") != "s") {
				t.Errorf("Request = %q %v", req.Body, req.Header)
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	o, err := signature.NewOptions()
	if err != nil || o.Tolerance != 5*time.Minute || o.MaxBody != 1<<20 {
		t.Fatalf("defaults = %+v, %v", o, err)
	}
	o, err = signature.NewOptions(signature.Tolerance(time.Minute), signature.MaxBody(10), nil)
	if err != nil || o.Tolerance != time.Minute || o.MaxBody != 10 {
		t.Fatalf("set = %+v, %v", o, err)
	}
	for _, opt := range []signature.Opt{
		signature.Tolerance(0),
		signature.Tolerance(-time.Second),
		signature.Tolerance(signature.MaxTolerance + time.Second),
		signature.MaxBody(0),
		signature.MaxBody(-1),
	} {
		if _, err := signature.NewOptions(opt); !errors.Is(err, signature.ErrBadConfig) {
			t.Errorf("error %v; want ErrBadConfig", err)
		}
	}
}

func TestRawSecrets(t *testing.T) {
	keys, err := signature.RawSecrets([]string{"whsec_a", "It's a Secret to Everybody"})
	if err != nil || len(keys) != 2 || string(keys[1]) != "It's a Secret to Everybody" {
		t.Fatalf("RawSecrets = %q, %v", keys, err)
	}
	for _, tt := range []struct {
		name    string
		secrets []string
		index   int
	}{
		{"none", nil, -1},
		{"empty", []string{"ok", ""}, 1},
		{"trailing newline", []string{"secret-value\n"}, 0},
		{"leading space", []string{" secret-value"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signature.RawSecrets(tt.secrets)
			if !errors.Is(err, signature.ErrBadSecret) {
				t.Fatalf("error %v; want ErrBadSecret", err)
			}
			var se *signature.SecretError
			if tt.index >= 0 && (!errors.As(err, &se) || se.Index != tt.index) {
				t.Errorf("error %v does not point at secret %d", err, tt.index)
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

func TestJSONString(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{`"evt_1"`, "evt_1"},
		{`"a\"b"`, `a"b`},
		{`123`, ""},
		{`null`, ""},
		{``, ""},
		{`"unterminated`, ""},
		{`{"a":1}`, ""},
		{`"` + strings.Repeat("x", signature.MaxHeaderBytes+1) + `"`, ""},
	} {
		if got := signature.JSONString([]byte(tt.raw)); got != tt.want {
			t.Errorf("JSONString(%.20s) = %q; want %q", tt.raw, got, tt.want)
		}
	}
}
