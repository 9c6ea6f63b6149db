package signaturetest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	sighmac "github.com/sluicehq/sluice/connectors/hmac"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/signature/signaturetest"
)

// The suite is exercised against a reference verifier (the generic HMAC
// with a timestamp header) and against broken variants of it, each run in
// a child process: the reference must pass and every broken variant must
// fail, which shows the suite can fail.

const brokenEnv = "SIGNATURETEST_VARIANT"

func config() sighmac.Config { return sighmac.Config{Header: "X-Sig", TimestampHeader: "X-Ts"} }

func secret(i int) string { return fmt.Sprintf("suite-secret-%d-%d", i, i*31+7) }

func sign(secrets []string, ts time.Time, body []byte) http.Header {
	m := hmac.New(sha256.New, []byte(secrets[0]))
	fmt.Fprintf(m, "%d.%s", ts.Unix(), body)
	h := http.Header{}
	h.Set("X-Sig", hex.EncodeToString(m.Sum(nil)))
	h.Set("X-Ts", fmt.Sprint(ts.Unix()))
	return h
}

// variant wraps the reference verifier with one fault.
type variant struct {
	v       *sighmac.Verifier
	secrets []string
	fault   string
}

func (w variant) Verify(req signature.Request, now time.Time) (signature.Result, error) {
	res, err := w.v.Verify(req, now)
	switch w.fault {
	case "accepts anything":
		return signature.Result{Scheme: sighmac.Name, Timestamp: res.Timestamp}, nil
	case "no tolerance":
		if errors.Is(err, signature.ErrTimestampOutOfTolerance) {
			text, _ := signature.Lookup(req.Header, "X-Ts")
			ts, _ := signature.ParseUnix("X-Ts", text)
			return w.v.Verify(req, ts) // as if it were always on time
		}
	case "leaks the secret":
		if err != nil {
			return res, fmt.Errorf("%w (tried %s)", err, w.secrets[0])
		}
	case "leaks the signature":
		if err != nil {
			sig, _ := signature.Lookup(req.Header, "X-Sig")
			return res, fmt.Errorf("%w: got %s", err, sig)
		}
	case "always the first secret":
		res.SecretIndex = 0
	case "wrong code":
		if errors.Is(err, signature.ErrMissingHeader) {
			return res, signature.Malformed("X-Sig", "missing")
		}
	case "no body limit":
		if errors.Is(err, signature.ErrBodyTooLarge) {
			v, _ := sighmac.New(config(), w.secrets, signature.MaxBody(1<<30))
			return v.Verify(req, now)
		}
	}
	return res, err
}

func scheme(fault string) signaturetest.Scheme {
	return signaturetest.Scheme{
		Name: sighmac.Name,
		New: func(secrets []string, opts ...signature.Opt) (signature.Verifier, error) {
			v, err := sighmac.New(config(), secrets, opts...)
			if err != nil {
				return nil, err
			}
			if fault == "" {
				return v, nil
			}
			return variant{v: v, secrets: secrets, fault: fault}, nil
		},
		Secret:          secret,
		Sign:            sign,
		SignatureHeader: "X-Sig",
		Required:        []string{"X-Sig", "X-Ts"},
		Signed:          []string{"X-Ts"},
		TimestampHeader: "X-Ts",
		HasTimestamp:    true,
	}
}

// TestVariant runs the suite against the variant named in the
// environment; it is the child process of TestSuiteCatchesFaults.
func TestVariant(t *testing.T) {
	fault, ok := os.LookupEnv(brokenEnv)
	if !ok {
		t.Skip("run by TestSuiteCatchesFaults")
	}
	signaturetest.Run(t, scheme(fault))
}

func TestSuiteCatchesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	cases := []struct {
		fault string
		fails string // a subtest of the suite that must fail; "" for none
	}{
		{"", ""},
		{"accepts anything", "TestVariant/tampered"},
		{"no tolerance", "TestVariant/timestamp"},
		{"leaks the secret", "TestVariant/secrets"},
		{"leaks the signature", "TestVariant/tampered"},
		{"always the first secret", "TestVariant/secrets"},
		{"wrong code", "TestVariant/missing"},
		{"no body limit", "TestVariant/body"},
	}
	for _, tt := range cases {
		name := tt.fault
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestVariant$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tt.fault)
			out, err := cmd.CombinedOutput()
			if tt.fails == "" {
				if err != nil {
					t.Fatalf("the reference verifier fails the suite: %v\n%s", err, out)
				}
				if !strings.Contains(string(out), "--- PASS: TestVariant") {
					t.Fatalf("the suite did not run:\n%s", out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a verifier that %s", tt.fault)
			}
			if !strings.Contains(string(out), "--- FAIL: "+tt.fails) {
				t.Errorf("the suite failed, but not in %s:\n%s", tt.fails, out)
			}
		})
	}
}

func TestCheckNoLeak(t *testing.T) {
	req := signature.Request{
		Header: http.Header{"X-Sig": {"t=1,v1=0123456789abcdef0123456789abcdef"}},
		Body:   []byte(`{"card":"4242424242424242"}`),
	}
	secrets := []string{"whsec_abcdefghijklmnop"}
	cases := []struct {
		name  string
		err   error
		leaks bool
	}{
		{"clean", signature.NoMatch("X-Sig", 1), false},
		{"nil", nil, false},
		{"the secret", errors.New("bad whsec_abcdefghijklmnop"), true},
		{"the secret's key material", errors.New("bad abcdefghijklmnop"), true},
		{"the body", errors.New(`body {"card":"4242424242424242"}`), true},
		{"a signature", errors.New("got 0123456789abcdef0123456789abcdef"), true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			signaturetest.CheckNoLeak(rec, tt.err, req, secrets)
			if rec.failed != tt.leaks {
				t.Errorf("CheckNoLeak reported a leak: %v; want %v", rec.failed, tt.leaks)
			}
		})
	}
}

// recorder notes Errorf calls instead of failing the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
