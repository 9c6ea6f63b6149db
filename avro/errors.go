package avro

import (
	"errors"
	"net/http"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro/registry"
)

var (
	// ErrSchema is returned when a contract file cannot be loaded: bad
	// JSON, an invalid Avro schema, an unknown or twice-defined type.
	ErrSchema = errors.New("avro: invalid schema")

	// ErrUnknownRecord is returned for a record name that is not among
	// the loaded contracts, or that is not an event record where one is
	// needed.
	ErrUnknownRecord = errors.New("avro: unknown record")

	// ErrSubject is returned for a subject or topic that does not follow
	// the naming strategy.
	ErrSubject = errors.New("avro: bad subject")

	// ErrNotRegistered is returned by a Serde that does not register
	// schemas (AutoRegister(false)) when a subject's schema is not in the
	// registry.
	ErrNotRegistered = errors.New("avro: schema is not registered under its subject")

	// ErrIncompatible is returned when the registry refuses a schema as
	// incompatible with the subject's earlier versions, or when a record's
	// writer schema cannot be read with the local reader schema.
	ErrIncompatible = errors.New("avro: incompatible schema")

	// ErrUnknownSchemaID is returned when decoding a record whose schema
	// id the registry does not know.
	ErrUnknownSchemaID = errors.New("avro: unknown schema id")

	// ErrRegistry is returned when the schema registry cannot be reached
	// or answers with an unexpected error. It is worth retrying.
	ErrRegistry = errors.New("avro: schema registry")

	// ErrWireFormat is returned when a value is not in the Confluent wire
	// format (magic byte 0, four-byte schema id, Avro body).
	ErrWireFormat = errors.New("avro: not in the Confluent wire format")

	// ErrEncode is returned when a value does not fit its schema.
	ErrEncode = errors.New("avro: encode")

	// ErrDecode is returned when a record body cannot be decoded with its
	// schema.
	ErrDecode = errors.New("avro: decode")

	// ErrInvalid is what a *ValidationError matches with errors.Is: the
	// JSON broke its contract.
	ErrInvalid = errors.New("avro: payload breaks its contract")
)

// IsIncompatible reports whether err says a schema is incompatible: one of
// this package's ErrIncompatible errors, or a registry's refusal, which
// Confluent's older servers send with error code 409 and newer ones with
// 40901 (see registry.IsIncompatible).
func IsIncompatible(err error) bool {
	return errors.Is(err, ErrIncompatible) || registry.IsIncompatible(err)
}

// isNotFound reports whether err is a registry's "not found" answer for a
// subject, version or schema.
func isNotFound(err error) bool {
	if registry.IsNotFound(err) {
		return true
	}
	var re *sr.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// errorCode returns the registry's error code of err, or 0.
func errorCode(err error) int {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return 0
}
