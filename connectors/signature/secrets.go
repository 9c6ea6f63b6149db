package signature

import (
	"encoding/json"
	"strings"
)

// RawSecrets checks secrets that a scheme uses as HMAC keys exactly as
// configured (Stripe, GitHub, Shopify, Slack, the generic HMAC) and
// returns their bytes. It refuses an empty list, an empty secret and one
// with leading or trailing white space, which is nearly always a copy
// mistake that would make every signature fail.
func RawSecrets(secrets []string) ([][]byte, error) {
	if len(secrets) == 0 {
		return nil, NoSecrets()
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		switch {
		case s == "":
			return nil, BadSecret(i, "empty secret")
		case strings.TrimSpace(s) != s:
			return nil, BadSecret(i, "leading or trailing white space")
		}
		keys[i] = []byte(s)
	}
	return keys, nil
}

// JSONString returns the string raw holds when raw is a JSON string of at
// most MaxHeaderBytes bytes, else "". Schemes use it to read a delivery id
// or an event type from a signed body.
func JSONString(raw json.RawMessage) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || len(s) > MaxHeaderBytes {
		return ""
	}
	return s
}
