package signature

import (
	"errors"
	"fmt"
	"net/http"
)

// The refusals of a verifier. Every error Verify returns wraps exactly one
// of the first five; constructors return errors wrapping ErrBadSecret or
// ErrBadConfig.
var (
	// ErrMissingHeader is returned when a header the scheme requires is
	// absent or empty. The wrapping HeaderError names the header.
	ErrMissingHeader = errors.New("signature: missing header")
	// ErrMalformedHeader is returned when a header cannot be parsed: wrong
	// prefix, bad hex or base64, a signature of the wrong length, a
	// timestamp that is not a Unix time in seconds, or a value longer than
	// MaxHeaderBytes.
	ErrMalformedHeader = errors.New("signature: malformed header")
	// ErrTimestampOutOfTolerance is returned when the signed timestamp is
	// further from now than the tolerance, in the past or in the future.
	ErrTimestampOutOfTolerance = errors.New("signature: timestamp out of tolerance")
	// ErrNoMatch is returned when the request carries well-formed
	// signatures but none of them was made with an active secret over this
	// body.
	ErrNoMatch = errors.New("signature: no signature matched")
	// ErrBodyTooLarge is returned when the body is longer than the
	// verifier's limit (see MaxBody) or ReadRequest's limit.
	ErrBodyTooLarge = errors.New("signature: body too large")
	// ErrBadSecret is returned by a constructor given no secrets or a
	// secret it cannot decode. The wrapping SecretError says which.
	ErrBadSecret = errors.New("signature: bad secret")
	// ErrBadConfig is returned by a constructor given an invalid option or
	// scheme configuration.
	ErrBadConfig = errors.New("signature: bad configuration")
)

// Stable codes of the refusals, for error bodies and metric labels.
const (
	CodeMissingHeader           = "missing_header"
	CodeMalformedHeader         = "malformed_header"
	CodeTimestampOutOfTolerance = "timestamp_out_of_tolerance"
	CodeNoMatch                 = "no_match"
	CodeBodyTooLarge            = "body_too_large"
	CodeBadSecret               = "bad_secret"
	CodeBadConfig               = "bad_config"
	codeUnknown                 = "unknown"
)

// Code returns the stable code of err: one of the Code constants, or
// "unknown" for an error that wraps none of the package's sentinels, or ""
// for nil.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMissingHeader):
		return CodeMissingHeader
	case errors.Is(err, ErrMalformedHeader):
		return CodeMalformedHeader
	case errors.Is(err, ErrTimestampOutOfTolerance):
		return CodeTimestampOutOfTolerance
	case errors.Is(err, ErrNoMatch):
		return CodeNoMatch
	case errors.Is(err, ErrBodyTooLarge):
		return CodeBodyTooLarge
	case errors.Is(err, ErrBadSecret):
		return CodeBadSecret
	case errors.Is(err, ErrBadConfig):
		return CodeBadConfig
	}
	return codeUnknown
}

// HTTPStatus is the status to answer a request refused with err: 401
// for a missing, malformed, stale or non-matching signature, 413 for a
// body too large, 200 for nil and 500 for anything else (a verifier that
// could not be built is the server's fault, not the sender's).
func HTTPStatus(err error) int {
	switch Code(err) {
	case "":
		return http.StatusOK
	case CodeMissingHeader, CodeMalformedHeader, CodeTimestampOutOfTolerance, CodeNoMatch:
		return http.StatusUnauthorized
	case CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// HeaderError is a refusal about one header. Its message names the header
// and says what was wrong; it never holds the header's value.
type HeaderError struct {
	// Err is one of ErrMissingHeader, ErrMalformedHeader,
	// ErrTimestampOutOfTolerance or ErrNoMatch.
	Err error
	// Header is the header's name as the scheme spells it.
	Header string
	// Reason says what was wrong, without the header's value.
	Reason string
}

// Error returns e.g. "signature: malformed header: Stripe-Signature: no t=
// timestamp".
func (e *HeaderError) Error() string {
	if e.Reason == "" {
		return e.Err.Error() + ": " + e.Header
	}
	return e.Err.Error() + ": " + e.Header + ": " + e.Reason
}

// Unwrap returns Err.
func (e *HeaderError) Unwrap() error { return e.Err }

// Missing returns the refusal of an absent or empty header.
func Missing(header string) error {
	return &HeaderError{Err: ErrMissingHeader, Header: header}
}

// Malformed returns the refusal of a header that cannot be parsed; reason
// must not quote the value.
func Malformed(header, reason string) error {
	return &HeaderError{Err: ErrMalformedHeader, Header: header, Reason: reason}
}

// NoMatch returns the refusal of a header whose signatures were all made
// with other secrets or over another body.
func NoMatch(header string, secrets int) error {
	reason := "the signature does not match the body with the active secret"
	if secrets != 1 {
		reason = fmt.Sprintf("no signature matches the body with any of the %d active secrets", secrets)
	}
	return &HeaderError{Err: ErrNoMatch, Header: header, Reason: reason}
}

// SecretError is a constructor's refusal of one configured secret. Its
// message gives the secret's position and what was wrong, never the
// secret.
type SecretError struct {
	// Index is the secret's position in the list given to the
	// constructor, from 0.
	Index int
	// Reason says what was wrong, without the secret.
	Reason string
}

// Error returns e.g. "signature: bad secret: secret 1: not base64 after
// the whsec_ prefix".
func (e *SecretError) Error() string {
	return fmt.Sprintf("%s: secret %d: %s", ErrBadSecret, e.Index, e.Reason)
}

// Unwrap returns ErrBadSecret.
func (e *SecretError) Unwrap() error { return ErrBadSecret }

// BadSecret returns the refusal of secret number index; reason must not
// quote the secret.
func BadSecret(index int, reason string) error {
	return &SecretError{Index: index, Reason: reason}
}

// NoSecrets returns the refusal of an empty secret list.
func NoSecrets() error {
	return fmt.Errorf("%w: at least one secret is required", ErrBadSecret)
}
