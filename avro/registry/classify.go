package registry

import (
	"errors"
	"net/http"

	"github.com/twmb/franz-go/pkg/sr"
)

// IsIncompatible reports whether err, as returned by an sr.Client, says that
// a schema is incompatible with the versions already registered: HTTP 409
// with error code 409 (older Confluent releases and sluice) or 40901 (newer
// Confluent releases, which franz-go's sr does not map). It depends only on
// sr, so code that talks to any registry can use it.
func IsIncompatible(err error) bool {
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.ErrorCode == codeIncompatibleSchema || re.ErrorCode == codeIncompatibleSchemaConfluent ||
		(re.ErrorCode == 0 && re.StatusCode == http.StatusConflict)
}

// IsInvalidSchema reports whether err, as returned by an sr.Client, says
// that a schema was refused as invalid (error code 42201).
func IsInvalidSchema(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.ErrorCode == codeInvalidSchema
}

// IsNotFound reports whether err, as returned by an sr.Client, says that a
// subject, version or schema does not exist (error codes 40401 to 40409).
func IsNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && sr.IsNotFoundError(re.ErrorCode)
}
