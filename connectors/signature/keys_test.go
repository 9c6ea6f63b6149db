package signature_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/signature"
)

func sum(key string, parts ...string) [sha256.Size]byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(strings.Join(parts, "")))
	var s [sha256.Size]byte
	copy(s[:], m.Sum(nil))
	return s
}

func TestKeysMatch(t *testing.T) {
	k, err := signature.NewKeys([]string{"old-secret", "new-secret"}, signature.Tolerance(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 2 || k.Options.Tolerance != time.Minute || k.Options.MaxBody != signature.DefaultMaxBody {
		t.Fatalf("keys: %d, options %+v", k.Len(), k.Options)
	}
	other := sum("another-secret", "t.", "body")
	for _, tt := range []struct {
		name string
		sigs [][sha256.Size]byte
		want int
	}{
		{"the first key", [][sha256.Size]byte{sum("old-secret", "t.", "body")}, 0},
		{"the second key", [][sha256.Size]byte{sum("new-secret", "t.", "body")}, 1},
		{"one of several signatures", [][sha256.Size]byte{other, sum("new-secret", "t.", "body")}, 1},
		{"the first key wins", [][sha256.Size]byte{sum("new-secret", "t.", "body"), sum("old-secret", "t.", "body")}, 0},
		{"another key", [][sha256.Size]byte{other}, -1},
		{"other parts", [][sha256.Size]byte{sum("old-secret", "t", ".body!")}, -1},
		{"no signature", nil, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The parts are hashed as one message, however they are cut.
			if got := k.Match(tt.sigs, []byte("t"), []byte(".bo"), []byte("dy")); got != tt.want {
				t.Errorf("Match = %d; want %d", got, tt.want)
			}
		})
	}
	if got := (signature.Keys{}).Match([][sha256.Size]byte{other}); got != -1 {
		t.Errorf("the zero Keys matched key %d", got)
	}
}

func TestNewKeysRefuses(t *testing.T) {
	if _, err := signature.NewKeys([]string{"ok", " padded"}); !errors.Is(err, signature.ErrBadSecret) {
		t.Errorf("a padded secret: %v; want ErrBadSecret", err)
	}
	if _, err := signature.NewKeys(nil); !errors.Is(err, signature.ErrBadSecret) {
		t.Errorf("no secret: %v; want ErrBadSecret", err)
	}
	if _, err := signature.NewKeys([]string{"ok"}, signature.MaxBody(0)); !errors.Is(err, signature.ErrBadConfig) {
		t.Errorf("a zero body limit: %v; want ErrBadConfig", err)
	}
}

func TestHexSHA256(t *testing.T) {
	want := sum("k", "m")
	lower := hex.EncodeToString(want[:])
	for _, s := range []string{lower, strings.ToUpper(lower)} {
		if got, ok := signature.HexSHA256(s); !ok || got != want {
			t.Errorf("HexSHA256(%q) = %x, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", lower[:62], lower + "00", lower[:63] + "g", " " + lower[1:]} {
		if _, ok := signature.HexSHA256(s); ok {
			t.Errorf("HexSHA256(%q) accepted", s)
		}
	}
}

// TestMACSumsLikeHMAC: a MAC's sums, from states reused across messages
// and goroutines, are crypto/hmac's, however the message is cut.
func TestMACSumsLikeHMAC(t *testing.T) {
	m := signature.NewMAC([]byte("a secret"))
	msgs := []string{"", "x", "msg_1.1700000000.{\"a\":1}", strings.Repeat("long ", 300)}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				msg := msgs[(g+i)%len(msgs)]
				cut := len(msg) / 2
				if got, want := m.Sum([]byte(msg[:cut]), []byte(msg[cut:])), sum("a secret", msg); got != want {
					t.Errorf("Sum of %q cut at %d = %x, want %x", msg, cut, got, want)
					return
				}
				if got, want := m.Sum(), sum("a secret"); got != want {
					t.Errorf("Sum of nothing = %x, want %x", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
